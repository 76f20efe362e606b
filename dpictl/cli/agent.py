"""`dpictl agent install|uninstall|manifests|run`: the DPI agent on a cluster, and its entry point."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from dpictl.cli import params
from dpictl.errors import UsageError

agent_app = typer.Typer(help="The DPI agent: install it on a cluster (a DaemonSet), print its "
                             "manifests, or run it (the container's entry point).",
                        no_args_is_help=True)

NamespaceOpt = typer.Option("dpictl-system", "--namespace", "-n",
                            help="Namespace the agent runs in.")
ImageOpt = typer.Option(None, "--image", help="Agent container image "
                        "(default: ghcr.io/dpictl/dpictl:<version>).")


def _backend(kubeconfig: Optional[Path], context: Optional[str]):
    from dpictl.backends import open_backend

    return open_backend("kubernetes", kubeconfig=kubeconfig, context=context)


EngineOpt = typer.Option("python", "--engine", help="Data plane of the agents: python or "
                         "suricata (Suricata 7 is in the agent image).")


def _options(namespace: str, image: Optional[str], engine: str = "python"):
    from dpictl.backends.kubernetes.agent_manifests import DEFAULT_IMAGE, AgentOptions
    from dpictl.errors import UsageError

    if engine not in ("python", "suricata"):
        raise UsageError(f"unknown engine {engine!r}", hint="use --engine python or suricata")
    return AgentOptions(namespace=namespace, image=image or DEFAULT_IMAGE, engine=engine)


@agent_app.command("manifests")
def manifests_cmd(
    namespace: str = NamespaceOpt,
    image: Optional[str] = ImageOpt,
    engine: str = EngineOpt,
    offline: bool = typer.Option(False, "--offline", help="Do not ask the cluster: include "
                                 "both dpictl CRDs and the default resources."),
    kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt,
) -> None:
    """Print the YAML `agent install` would apply to this cluster."""
    import yaml

    from dpictl.backends.kubernetes import agent_manifests

    options = _options(namespace, image, engine)
    if offline:
        docs = agent_manifests.all_manifests(options)
    else:
        docs = agent_manifests.plan(_backend(kubeconfig, context), options)
    typer.echo(yaml.safe_dump_all(docs, sort_keys=False), nl=False)


@agent_app.command("install")
def install_cmd(
    namespace: str = NamespaceOpt,
    image: Optional[str] = ImageOpt,
    engine: str = EngineOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Server-side dry run: validate "
                                 "everything, change nothing."),
    force: bool = typer.Option(False, "--force", help="Install even where Calico's DPI "
                               "(tigera-dpi) already runs."),
    kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt,
) -> None:
    """Install the agent: namespace, service account, RBAC, DaemonSet (and CRDs if needed)."""
    from dpictl.backends.kubernetes import agent_manifests

    backend = _backend(kubeconfig, context)
    if not force:
        agent_manifests.check_no_calico_dpi(backend)
    docs = agent_manifests.plan(backend, _options(namespace, image, engine))
    for line in agent_manifests.install(backend, docs, dry_run=dry_run):
        typer.echo(line)


@agent_app.command("uninstall")
def uninstall_cmd(
    namespace: str = NamespaceOpt,
    crds: bool = typer.Option(False, "--crds", help="Also delete dpictl's CRDs, and with "
                              "them every DeepPacketInspection stored in dpictl.io."),
    kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt,
) -> None:
    """Remove the agent (its CRDs only with --crds)."""
    from dpictl.backends.kubernetes import agent_manifests

    backend = _backend(kubeconfig, context)
    docs = agent_manifests.all_manifests(_options(namespace, None))
    lines = agent_manifests.uninstall(backend, docs, keep_crds=not crds)
    for line in lines or ["nothing to delete"]:
        typer.echo(line)


@agent_app.command("run")
def run_cmd(
    node: Optional[str] = typer.Option(None, "--node", envvar="NODE_NAME",
                                       help="This node's name (default: $NODE_NAME, "
                                            "else the host name)."),
    backend: str = typer.Option("kubernetes", "--backend", "-B",
                                help="Where resources come from: kubernetes or local."),
    netns: Optional[str] = typer.Option(None, "--netns", help="Capture inside this network "
                                        "namespace (the node's) instead of the current one."),
    rules: Optional[List[Path]] = typer.Option(None, "--rules", "-r",
                                               help="Rule file (repeatable; default: built-in)."),
    eve: bool = typer.Option(True, "--eve/--no-eve", help="Write each alert as an EVE JSON "
                             "line on stdout."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at debug level."),
    workers: Optional[int] = typer.Option(
        None, "--workers", "-w", min=1, max=256,
        help="Worker processes sharing each interface (default: one per CPU, capped by "
             "the cpu limit)."),
    db: Optional[Path] = params.DbOpt,
    kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt,
) -> None:
    """Run the agent in the foreground until SIGTERM (the DaemonSet's entry point)."""
    import logging

    from dpictl.backends import check_backend

    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if check_backend(backend) == "kubernetes":
        from dpictl.agent.kube_agent import default_node_name, run_kube_agent

        run_kube_agent(_backend(kubeconfig, context), node=node or default_node_name(),
                       netns=netns, rules=tuple(rules or ()),
                       eve_out=sys.stdout if eve else None, workers=workers)
    else:
        if rules or netns:
            raise UsageError("--rules and --netns are for --backend kubernetes",
                             hint="the local agent takes its rules and node netns from "
                                  "its state database; pick that with --db")
        from dpictl.agent.local_agent import run_local_agent
        from dpictl.paths import default_db_path

        # The local agent reads its node, netns and rules from the cluster's state database.
        raise typer.Exit(run_local_agent(db or default_db_path(), workers=workers))


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root app."""
    app.add_typer(agent_app, name="agent")
