"""Reading a scenario file: YAML in, a validated `Scenario` out, or ONE line saying why not.

A scenario is named in one of two ways, never guessed between: a bare name (`red-blue`)
always means a scenario shipped with dpictl, and a path (anything holding a `/`, or ending in
`.yaml`/`.yml`) means that file. A `scenarios/` folder in the current directory is therefore
never read unless asked for (`./scenarios/red-blue.yaml`): scenarios run commands as root, and
a planted file must not silently replace a shipped one.

Everything is checked up front and the FIRST problem is reported with the file and the path
inside it (`red-blue.yaml: steps[6].traffic[0]: missing 'to'`), so a typo never surfaces
halfway through a run after pods were already created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dpictl.errors import InputError
from dpictl.lab.scenario import (DEFAULT_TIMEOUT, ApplyStep, NamespacesStep, PatchStep,
                                 PodIpsStep, PodRef, PodSpec, PodsStep, Scenario, Signatures,
                                 Step, Traffic, TrafficExpectation, TrafficStep)


SHIPPED = Path(__file__).resolve().parents[1] / "scenarios"      # package data
_SUFFIXES = (".yaml", ".yml")


def shipped_scenarios() -> list[str]:
    """Names of the scenarios that ship with dpictl."""
    return sorted(p.stem for p in SHIPPED.glob("*.yaml")) if SHIPPED.is_dir() else []


def resolve_scenario(name: str) -> Path:
    """The file a scenario argument names: a path as given, a bare name among the shipped."""
    if "/" in name or name.endswith(_SUFFIXES):
        given = Path(name).expanduser()
        if not given.is_file():
            raise InputError(f"{name}: no such scenario file")
        return given
    shipped = SHIPPED / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    known = shipped_scenarios()
    hint = f"a shipped scenario is one of: {', '.join(known)}; " if known else ""
    raise InputError(f"no shipped scenario {name!r}",
                     hint=f"{hint}give a file as a path, e.g. ./{name}.yaml")


class _Invalid(Exception):
    """Internal: carries the path inside the document to the one public error."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file; raises `InputError` with one line on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such scenario file",
                         hint="give a path, or the name of a shipped scenario") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{source}{where}: not valid YAML: {problem}") from None
    try:
        return _scenario(doc, source)
    except _Invalid as exc:
        raise InputError(f"{source}: {exc}",
                         hint="see scenarios/red-blue.yaml for the format") from None


def _scenario(doc: Any, source: str) -> Scenario:
    doc = _mapping(doc, "", {"name", "description", "timeout", "signatures", "steps"})
    name = _string(doc.get("name"), "name")
    steps_raw = doc.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise _Invalid("steps", "must be a non-empty list")
    steps = tuple(_step(s, f"steps[{i}]") for i, s in enumerate(steps_raw))
    timeout = doc.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise _Invalid("timeout", "must be a positive number of seconds")
    scenario = Scenario(name=name, description=str(doc.get("description") or "").strip(),
                        steps=steps, signatures=_signatures(doc.get("signatures")),
                        timeout=float(timeout), source=source)
    _check_references(scenario)
    return scenario


def _step(raw: Any, where: str) -> Step:
    raw = _mapping(raw, where, {"name", "optional", *_PARSERS})
    kinds = [k for k in raw if k in _PARSERS]
    if len(kinds) != 1:
        raise _Invalid(where, "needs exactly one of: " + ", ".join(_PARSERS))
    kind = kinds[0]
    action = _PARSERS[kind](raw[kind], f"{where}.{kind}")
    title = raw.get("name") or kind
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise _Invalid(f"{where}.optional", "must be true or false")
    return Step(title=_string(title, f"{where}.name"), action=action, optional=optional)


def _patch(raw: Any, where: str) -> PatchStep:
    raw = _mapping(raw, where, {"kind", "name", "namespace", "type", "patch"})
    patch = raw.get("patch")
    if not isinstance(patch, dict):
        raise _Invalid(f"{where}.patch", "must be a mapping")
    patch_type = raw.get("type", "merge")
    if patch_type not in ("merge", "strategic", "json"):
        raise _Invalid(f"{where}.type", "must be merge, strategic or json")
    ns = raw.get("namespace")
    return PatchStep(kind=_string(raw.get("kind"), f"{where}.kind"),
                     name=_string(raw.get("name"), f"{where}.name"), patch=patch,
                     namespace=_string(ns, f"{where}.namespace") if ns is not None else None,
                     patch_type=patch_type)


def _namespaces(raw: Any, where: str) -> NamespacesStep:
    names = _string_list(raw, where)
    return NamespacesStep(names=tuple(_dns_name(n, f"{where}[{i}]") for i, n in enumerate(names)))


def _pods(raw: Any, where: str) -> PodsStep:
    if not isinstance(raw, list) or not raw:
        raise _Invalid(where, "must be a non-empty list of pods")
    pods = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        item = _mapping(item, w, {"name", "namespace", "image", "labels"})
        labels = item.get("labels") or {}
        if not isinstance(labels, dict):
            raise _Invalid(f"{w}.labels", "must be a mapping")
        ref = PodRef(_dns_name(_string(item.get("namespace"), f"{w}.namespace"), f"{w}.namespace"),
                     _dns_name(_string(item.get("name"), f"{w}.name"), f"{w}.name"))
        pods.append(PodSpec(ref=ref, image=_string(item.get("image"), f"{w}.image"),
                            labels={str(k): str(v) for k, v in labels.items()}))
    return PodsStep(pods=tuple(pods))


def _apply(raw: Any, where: str) -> ApplyStep:
    raw = _mapping(raw, where, None)
    for key in ("apiVersion", "kind"):
        _string(raw.get(key), f"{where}.{key}")
    meta = _mapping(raw.get("metadata"), f"{where}.metadata", None)
    _string(meta.get("name"), f"{where}.metadata.name")
    return ApplyStep(manifest=raw)


def _pod_ips(raw: Any, where: str) -> PodIpsStep:
    return PodIpsStep(pods=tuple(_pod_ref(p, f"{where}[{i}]")
                                 for i, p in enumerate(_string_list(raw, where))))


def _traffic(raw: Any, where: str) -> TrafficStep:
    if not isinstance(raw, list) or not raw:
        raise _Invalid(where, "must be a non-empty list of traffic commands")
    items, seen = [], set()
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        item = _mapping(item, w, {"name", "from", "to", "command", "expect"})
        source = _pod_ref(item.get("from"), f"{w}.from")
        target = _pod_ref(item.get("to"), f"{w}.to")
        name = _string(item.get("name", f"{source.name}->{target.name}"), f"{w}.name")
        if name in seen:
            raise _Invalid(f"{w}.name", f"duplicate traffic name {name!r}")
        seen.add(name)
        expect = _expectation(item["expect"], f"{w}.expect") if "expect" in item else None
        items.append(Traffic(name=name, source=source, target=target,
                             command=_string(item.get("command"), f"{w}.command"), expect=expect))
    return TrafficStep(traffic=tuple(items))


def _expectation(raw: Any, where: str) -> TrafficExpectation:
    raw = _mapping(raw, where, {"alerts", "endpoints"})
    count = raw.get("alerts")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _Invalid(f"{where}.alerts", "must be a whole number >= 0")
    endpoints = None
    if "endpoints" in raw:
        refs = _string_list(raw["endpoints"], f"{where}.endpoints", allow_empty=True)
        endpoints = tuple(_pod_ref(r, f"{where}.endpoints[{i}]") for i, r in enumerate(refs))
        if len(endpoints) != count:
            raise _Invalid(f"{where}.endpoints",
                           f"lists {len(endpoints)} endpoint(s) but alerts is {count}")
    return TrafficExpectation(alerts=count, endpoints=endpoints)


def _signatures(raw: Any) -> Signatures:
    if raw is None:
        return Signatures()
    raw = _mapping(raw, "signatures", {"builtin", "custom"})
    return Signatures(builtin=_sids(raw.get("builtin"), "signatures.builtin"),
                      custom=_sids(raw.get("custom"), "signatures.custom"))


def _sids(raw: Any, where: str) -> frozenset[int]:
    if raw is None:
        return frozenset()
    values = raw if isinstance(raw, list) else [raw]
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise _Invalid(f"{where}[{i}]", "must be a positive SID")
    return frozenset(values)


def _check_references(scenario: Scenario) -> None:
    """Every pod that traffic or expectations name must be created by an earlier step, and
    no two traffic commands may join the same two pods (their alerts could not be told apart:
    alerts are attributed to a command by its pair of addresses)."""
    pairs: dict[frozenset, str] = {}
    for t in scenario.traffic:
        pair = frozenset((t.source, t.target))
        if t.source == t.target:
            raise _Invalid(f"traffic {t.name!r}", "'from' and 'to' are the same pod")
        if pair in pairs:
            raise _Invalid(f"traffic {t.name!r}", f"joins the same pods as {pairs[pair]!r}; "
                           "their alerts could not be told apart")
        pairs[pair] = t.name
    created: set[PodRef] = set()
    namespaces: set[str] = set()
    for i, step in enumerate(scenario.steps):
        action = step.action
        if isinstance(action, NamespacesStep):
            namespaces.update(action.names)
        elif isinstance(action, PodsStep):
            for j, pod in enumerate(action.pods):
                if namespaces and pod.ref.namespace not in namespaces:
                    raise _Invalid(f"steps[{i}].pods[{j}]",
                                   f"namespace {pod.ref.namespace!r} is not created by any "
                                   "earlier step")
                created.add(pod.ref)
        elif isinstance(action, (PodIpsStep, TrafficStep)):
            refs = action.pods if isinstance(action, PodIpsStep) else [
                r for t in action.traffic
                for r in (t.source, t.target, *((t.expect and t.expect.endpoints) or ()))]
            for ref in refs:
                if ref not in created:
                    raise _Invalid(f"steps[{i}]", f"pod {ref} is not created by any earlier step")


_PARSERS = {"patch": _patch, "namespaces": _namespaces, "pods": _pods, "apply": _apply,
            "pod_ips": _pod_ips, "traffic": _traffic}


def _mapping(raw: Any, where: str, allowed: set[str] | None) -> dict:
    if not isinstance(raw, dict):
        raise _Invalid(where, "must be a mapping")
    if allowed is not None:
        unknown = sorted(str(k) for k in raw if k not in allowed)
        if unknown:
            raise _Invalid(where, f"unknown key {unknown[0]!r} (allowed: "
                           + ", ".join(sorted(allowed)) + ")")
    return raw


def _string(raw: Any, where: str) -> str:
    if raw is None:
        raise _Invalid(where.rsplit(".", 1)[0] if "." in where else "",
                       f"missing {where.rsplit('.', 1)[-1]!r}")
    if isinstance(raw, (dict, list)) or raw == "":
        raise _Invalid(where, "must be a non-empty string")
    return str(raw)


def _string_list(raw: Any, where: str, allow_empty: bool = False) -> list[str]:
    if not isinstance(raw, list) or (not raw and not allow_empty):
        raise _Invalid(where, "must be a non-empty list")
    return [_string(v, f"{where}[{i}]") for i, v in enumerate(raw)]


def _pod_ref(raw: Any, where: str) -> PodRef:
    text = _string(raw, where)
    ns, sep, name = text.partition("/")
    if not sep or not ns or not name or "/" in name:
        raise _Invalid(where, f"{text!r} is not namespace/pod")
    return PodRef(ns, name)


def _dns_name(name: str, where: str) -> str:
    ok = (len(name) <= 63 and name[0].isalnum() and name[-1].isalnum()
          and all(c.islower() or c.isdigit() or c == "-" for c in name))
    if not ok:
        raise _Invalid(where, f"{name!r} is not a valid name (lower-case letters, digits, '-')")
    return name


__all__ = ["load_scenario", "parse_scenario", "resolve_scenario", "shipped_scenarios"]
