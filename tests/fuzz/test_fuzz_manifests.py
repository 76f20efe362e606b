"""Manifests on random YAML/JSON: reading and validating raises only InputError (its subclass
ManifestError included), never a KeyError, TypeError or RecursionError, whatever the shape."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dpictl.errors import InputError
from dpictl.resources.manifests import parse_manifests
from dpictl.resources.models import validate_manifest

from .budget import examples
from .mutate import mutated

KINDS = st.sampled_from([("v1", "Namespace"), ("v1", "Pod"), ("projectcalico.org/v3",
                         "DeepPacketInspection"), ("operator.tigera.io/v1", "IntrusionDetection"),
                         ("projectcalico.org/v3", "FelixConfiguration"), ("v1", "List"),
                         ("x/v1", "Unknown"), ("", ""), (1, None)])
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
                   st.text(max_size=12), st.sampled_from(["all()", "1Gi", "500m", "30s", "red",
                                                          "app == 'x'", "((("]))
JSONISH = st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["name", "namespace", "labels", "spec", "selector",
                                     "containers", "image", "componentResources",
                                     "componentName", "resourceRequirements", "limits", "cpu",
                                     "memory", "items", "metadata", "annotations",
                                     "flowLogsFlushInterval", "securityContext", "runAsUser"]),
                    inner, max_size=5)), max_leaves=25)


@st.composite
def manifests(draw: st.DrawFn) -> dict:
    api_version, kind = draw(KINDS)
    doc = {"apiVersion": api_version, "kind": kind, "metadata": draw(JSONISH),
           "spec": draw(JSONISH)}
    if draw(st.booleans()):
        doc["metadata"] = {"name": draw(st.sampled_from(["red", "default", "tigera-secure",
                                                          "x" * 300, "Bad_Name", ""])),
                           "namespace": draw(st.sampled_from(["red", "", "BAD"]))}
    return doc


def _check(text: str) -> None:
    try:
        for manifest in parse_manifests(text, "<fuzz>"):
            validate_manifest(manifest)
    except InputError:
        pass


@settings(max_examples=examples(300))
@given(manifests())
def test_generated_manifests(doc: dict) -> None:
    _check(json.dumps(doc, default=str))


SEED = b"""apiVersion: projectcalico.org/v3
kind: DeepPacketInspection
metadata: {name: red-dpi-all, namespace: red}
spec: {selector: all()}
---
apiVersion: operator.tigera.io/v1
kind: IntrusionDetection
metadata: {name: tigera-secure}
spec:
  componentResources:
    - componentName: DeepPacketInspection
      resourceRequirements:
        limits: {cpu: "1", memory: 1Gi}
---
apiVersion: v1
kind: Pod
metadata: {name: red1, namespace: red, labels: {app: red1}}
spec: {containers: [{name: red1, image: x}]}
"""


@settings(max_examples=examples(300))
@given(mutated(SEED, max_ops=6))
def test_mutated_yaml(data: bytes) -> None:
    _check(data.decode("utf-8", "replace"))


@settings(max_examples=examples(20))
@given(st.integers(1, 5000), st.sampled_from(["[", "{a: ", "- "]))
def test_deep_yaml(depth: int, opener: str) -> None:
    _check(opener * depth)
