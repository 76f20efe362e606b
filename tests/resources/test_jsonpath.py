"""kubectl `-o jsonpath=` templates as the lab and scripts use them."""

from __future__ import annotations

import pytest

from dpictl.errors import UsageError
from dpictl.resources.jsonpath import find, render_jsonpath

POD = {"kind": "Pod", "metadata": {"name": "red2", "namespace": "red",
                                   "labels": {"app": "red2", "app.kubernetes.io/name": "web"}},
       "status": {"podIP": "10.244.0.3", "podIPs": [{"ip": "10.244.0.3"}],
                  "containerStatuses": [{"ready": True, "restartCount": 0}]}}
LIST = {"kind": "List", "items": [
    POD, {"kind": "Pod", "metadata": {"name": "red1", "labels": {"app": "red1"}},
          "status": {"podIP": "10.244.0.2"}}]}


@pytest.mark.parametrize("template,expected", [
    ("{.status.podIP}", "10.244.0.3"),
    ("{$.status.podIP}", "10.244.0.3"),
    ("ip={.status.podIP}!", "ip=10.244.0.3!"),
    ("{.status.podIPs[0].ip}", "10.244.0.3"),
    ("{.status.containerStatuses[0].ready}", "true"),
    ("{.status.containerStatuses[0].restartCount}", "0"),
    ("{.metadata.labels['app.kubernetes.io/name']}", "web"),
    ("{.metadata.labels.app\\.kubernetes\\.io/name}", "web"),
    ("{.metadata.labels}", '{"app":"red2","app.kubernetes.io/name":"web"}'),
    ("{.status.missing}", ""),
    ("{.metadata.labels.*}", "red2 web"),
])
def test_single_object(template: str, expected: str) -> None:
    assert render_jsonpath(template, POD) == expected


@pytest.mark.parametrize("template,expected", [
    ("{.items[*].metadata.name}", "red2 red1"),
    ("{.items[*].status.podIP}", "10.244.0.3 10.244.0.2"),
    ("{.items[1].metadata.name}", "red1"),
    ("{.items[-1].metadata.name}", "red1"),
    ("{.items[0:1].metadata.name}", "red2"),
    ("{..podIP}", "10.244.0.3 10.244.0.2"),
    ('{.items[?(@.metadata.name=="red1")].status.podIP}', "10.244.0.2"),
    ("{.items[?(@.metadata.labels.app!='red1')].metadata.name}", "red2"),
    ('{range .items[*]}{.metadata.name}{"\\t"}{.status.podIP}{"\\n"}{end}',
     "red2\t10.244.0.3\nred1\t10.244.0.2\n"),
    ("{range .items}[{.metadata.name}]{end}", "[red2][red1]"),
    ("{.kind}", "List"),
])
def test_list(template: str, expected: str) -> None:
    assert render_jsonpath(template, LIST) == expected


@pytest.mark.parametrize("bad", ["{.status.podIP", "{range .items[*]}{.x}", "{end}",
                                 "{.items[abc]}", "{.a b}", '{"unterminated}'])
def test_bad_templates_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        render_jsonpath(bad, LIST)


def test_find_returns_every_value() -> None:
    assert find(LIST, ".items[*].metadata.labels.app") == ["red2", "red1"]
