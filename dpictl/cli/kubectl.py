"""kubectl's verbs, so the lab's command lines run with `kubectl` replaced by `dpictl`:
`patch`, `create ns`, `run`, `apply -f`, `get`, `exec`, `delete`.

Thin by design: parse, call the backend (`open_backend`), print what kubectl prints. After a
DPI-related change on the local backend the node's agent is started or told to reconcile.
"""

from __future__ import annotations

import os
import select
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from dpictl.cli import params
from dpictl.errors import NotFound, UsageError

# The backends, the resource models and yaml load inside the commands that use them, so that
# `dpictl --version` and every other command start without them.
if TYPE_CHECKING:
    from dpictl.backends import Backend
    from dpictl.resources.kinds import KindInfo

AGENT_KINDS = frozenset({"DeepPacketInspection", "IntrusionDetection", "FelixConfiguration"})
AUTOSTART_ENV = "DPICTL_AGENT_AUTOSTART"     # "0" leaves the agent alone (tests, manual runs)

create_app = typer.Typer(help="Create a resource (namespace).", no_args_is_help=True)


def _open(backend: str, kubeconfig: Optional[Path], context: Optional[str],
          db: Optional[Path]) -> Backend:
    from dpictl.backends import open_backend

    return open_backend(backend, db=db, kubeconfig=kubeconfig, context=context)


def _notify_agent(backend: Backend) -> None:
    """Start or reconcile the local DPI agent (no-op elsewhere, or if not installed yet)."""
    if backend.name != "local" or os.environ.get(AUTOSTART_ENV, "1") == "0":
        return
    try:
        from dpictl.agent.daemon import ensure_agent
    except ImportError:
        return
    ensure_agent(getattr(backend, "db_path"))


def _echo_bytes(data: bytes, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.flush()
    stream.buffer.write(data)
    stream.buffer.flush()


@create_app.command("namespace")
def create_namespace_cmd(
    names: List[str] = typer.Argument(..., help="Namespace name(s)."),
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
) -> None:
    """Create namespaces (`create ns red`)."""
    cluster = _open(backend, kubeconfig, context, db)
    for name in names:
        cluster.create_namespace(name)
        typer.echo(f"namespace/{name} created")


create_app.command("ns", hidden=True)(create_namespace_cmd)


def run_cmd(
    name: str = typer.Argument(..., help="Pod name."),
    image: str = typer.Option(..., "--image", help="Container image (recorded; local pods "
                              "run an HTTP server on :80 whatever the image)."),
    labels: str = typer.Option("", "--labels", "-l", help="Labels, 'k=v,k2=v2'."),
    namespace: Optional[str] = params.NamespaceOpt,
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
) -> None:
    """Run a pod (`run -n red red1 --image=wbitt/network-multitool --labels='app=red1'`)."""
    from dpictl.resources.models import parse_label_list

    cluster = _open(backend, kubeconfig, context, db)
    cluster.run_pod(namespace or "default", name, image, parse_label_list(labels))
    typer.echo(f"pod/{name} created")


def apply_cmd(
    files: List[str] = typer.Option(..., "--filename", "-f", help="Manifest file, or - for "
                                    "stdin (multi-document YAML or JSON)."),
    namespace: Optional[str] = params.NamespaceOpt,
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
) -> None:
    """Create or update resources from manifests (`apply -f - <<EOF ... EOF`)."""
    from dpictl.resources.kinds import BY_KIND
    from dpictl.resources.manifests import load_manifests
    from dpictl.resources.models import validate_manifest

    # Everything is read and checked before anything is changed.
    manifests = [validate_manifest(m, namespace) for f in files for m in load_manifests(f)]
    cluster = _open(backend, kubeconfig, context, db)
    touched_agent_kinds = False
    for manifest in manifests:
        obj, outcome = cluster.apply(manifest)
        typer.echo(f"{BY_KIND[obj['kind']].qualified}/{obj['metadata']['name']} {outcome}")
        touched_agent_kinds |= obj["kind"] in AGENT_KINDS and outcome != "unchanged"
    if touched_agent_kinds:
        _notify_agent(cluster)


def patch_cmd(
    resource: str = typer.Argument(..., help="Kind, e.g. felixconfiguration."),
    name: str = typer.Argument(..., help="Object name, e.g. default."),
    patch: str = typer.Option(..., "--patch", "-p", help="The patch, JSON or YAML."),
    patch_type: str = typer.Option("strategic", "--type", help="merge, strategic or json."),
    namespace: Optional[str] = params.NamespaceOpt,
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
) -> None:
    """Patch one object (`patch felixconfiguration default --type='merge' -p '{...}'`)."""
    import yaml

    from dpictl.resources.kinds import resolve_kind

    info = resolve_kind(resource)
    try:
        body = yaml.safe_load(patch)
    except yaml.YAMLError as exc:
        raise UsageError(f"the patch is not valid JSON/YAML: {exc}".splitlines()[0]) from None
    if patch_type not in ("merge", "strategic", "json"):
        raise UsageError(f"--type must be merge, strategic or json, not {patch_type!r}")
    cluster = _open(backend, kubeconfig, context, db)
    obj = cluster.patch(info.kind, name, body, namespace=namespace, patch_type=patch_type)
    typer.echo(f"{info.qualified}/{obj['metadata']['name']} patched")
    if info.kind in AGENT_KINDS:
        _notify_agent(cluster)


def _split_resource(resource: str, names: List[str]) -> tuple[KindInfo, List[str]]:
    """`get pod red1` and `get pod/red1` alike."""
    from dpictl.resources.kinds import resolve_kind

    if "/" in resource:
        kind, _, name = resource.partition("/")
        return resolve_kind(kind), [name, *names]
    return resolve_kind(resource), list(names)


def get_cmd(
    resource: str = typer.Argument(..., help="Kind: dpi, pods, ns, intrusiondetection, ..."),
    names: Optional[List[str]] = typer.Argument(None, help="Object name(s)."),
    namespace: Optional[str] = params.NamespaceOpt,
    all_namespaces: bool = typer.Option(False, "--all-namespaces", "-A",
                                        help="List across all namespaces."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="wide, yaml, json, "
                                         "name or jsonpath=TEMPLATE."),
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
) -> None:
    """Show objects, with kubectl's columns and output formats."""
    from dpictl.resources import printing
    from dpictl.resources.jsonpath import render_jsonpath

    info, wanted = _split_resource(resource, names or [])
    fmt = (output or "").lstrip("=")
    if fmt and fmt not in ("wide", "yaml", "json", "name") and not fmt.startswith("jsonpath="):
        raise UsageError(f"unsupported output format {output!r}",
                         hint="use wide, yaml, json, name or jsonpath=TEMPLATE")
    cluster = _open(backend, kubeconfig, context, db)
    objects = [o for n in wanted for o in cluster.get(info.kind, namespace, n)] if wanted else \
        cluster.get(info.kind, namespace, None, all_namespaces=all_namespaces)
    for line in getattr(cluster, "repaired", []):     # local pods brought back to life
        typer.echo(f"repaired pod {line}", err=True)
    single = len(wanted) == 1
    data = objects[0] if single else printing.as_list(objects)
    if fmt.startswith("jsonpath="):
        typer.echo(render_jsonpath(_unquote(fmt[len("jsonpath="):]), data), nl=False)
    elif fmt == "json":
        typer.echo(printing.to_json(data), nl=False)
    elif fmt == "yaml":
        typer.echo(printing.to_yaml(data), nl=False)
    elif fmt == "name":
        typer.echo("".join(printing.object_name(o) + "\n" for o in objects), nl=False)
    elif not objects:
        where = "" if all_namespaces or not info.namespaced else \
            f" in {namespace or 'default'} namespace"
        typer.echo(f"No resources found{where}.", err=True)
    else:
        headers, rows = printing.table(info.kind, objects, wide=fmt == "wide",
                                       all_namespaces=all_namespaces and not wanted)
        typer.echo(printing.format_table(headers, rows), nl=False)


def _unquote(template: str) -> str:
    if len(template) >= 2 and template[0] == template[-1] and template[0] in "'\"":
        return template[1:-1]
    return template


def _stdin_bytes() -> bytes | None:
    """stdin for `exec -i`, unless it is a terminal or nothing is there to read."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return None
        ready, _, _ = select.select([sys.stdin], [], [], 0.2)
    except (OSError, ValueError):
        return None
    return sys.stdin.buffer.read() if ready else None


def exec_cmd(
    pod: str = typer.Argument(..., help="Pod name."),
    command: List[str] = typer.Argument(..., help="Command and arguments, after --."),
    namespace: Optional[str] = params.NamespaceOpt,
    stdin: bool = typer.Option(False, "--stdin", "-i", help="Pass stdin to the command."),
    tty: bool = typer.Option(False, "--tty", "-t", help="Accepted for kubectl compatibility "
                             "(no terminal is allocated)."),
    container: Optional[str] = typer.Option(None, "--container", "-c", help="Ignored: local "
                                            "pods have one container."),
    timeout: float = typer.Option(300.0, "--timeout", min=0.1, max=params.MAX_TIMEOUT,
                                  help="Seconds before the command is "
                                  "killed (exit 124)."),
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
) -> None:
    """Run a command in a pod (`exec -it -n red red1 -- sh -c "curl ..."`)."""
    data = _stdin_bytes() if stdin else None
    cluster = _open(backend, kubeconfig, context, db)
    result = cluster.exec(namespace or "default", pod, list(command), stdin=data,
                          timeout=timeout)
    _echo_bytes(result.stdout)
    _echo_bytes(result.stderr, err=True)
    if result.returncode != 0:
        typer.echo(f"command terminated with exit code {result.returncode}", err=True)
        # SystemExit, not typer.Exit: the root runs click with standalone_mode=False, which
        # turns typer.Exit into a return value that main() does not pass on.
        raise SystemExit(result.returncode)


def delete_cmd(
    resource: str = typer.Argument(..., help="Kind: ns, dpi, pod, ..."),
    names: List[str] = typer.Argument(..., help="Object name(s)."),
    namespace: Optional[str] = params.NamespaceOpt,
    ignore_not_found: bool = typer.Option(False, "--ignore-not-found",
                                          help="Missing objects are not an error."),
    backend: str = params.BackendOpt, kubeconfig: Optional[Path] = params.KubeconfigOpt,
    context: Optional[str] = params.ContextOpt, db: Optional[Path] = params.DbOpt,
) -> None:
    """Delete objects; deleting a namespace deletes its pods and DPI resources."""
    info, wanted = _split_resource(resource, names)
    cluster = _open(backend, kubeconfig, context, db)
    # A namespace takes its DPI resources with it: the agent must hear about that too.
    notify = info.kind in AGENT_KINDS or (info.kind == "Namespace" and any(
        cluster.get("DeepPacketInspection", namespace=n) for n in wanted))
    label = info.singular if not info.group else info.qualified
    for name in wanted:
        try:
            for deleted in cluster.delete(info.kind, [name], namespace=namespace):
                typer.echo(f'{label} "{deleted}" deleted')
        except NotFound:
            if not ignore_not_found:
                raise
    if notify:
        _notify_agent(cluster)


def register(app: typer.Typer) -> None:
    """Add the kubectl-compatible verbs to the root app."""
    app.add_typer(create_app, name="create")
    app.command("run", no_args_is_help=True)(run_cmd)
    app.command("apply", no_args_is_help=True)(apply_cmd)
    app.command("patch", no_args_is_help=True)(patch_cmd)
    app.command("get", no_args_is_help=True)(get_cmd)
    app.command("exec", no_args_is_help=True)(exec_cmd)
    app.command("delete", no_args_is_help=True)(delete_cmd)


__all__ = ["register", "AUTOSTART_ENV"]
