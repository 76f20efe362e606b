"""SMTP messages -> file_data signatures, driven by the app layer's SMTP events.

Suricata registers `file_data` for SMTP in the to-server direction and fills it with the
decoded content of the message's MIME attachments (parts with a filename or an attachment
disposition; `decode-mime` base64/quoted-printable on, as in its default config). Each
attachment is one file: the signatures that read file_data alone run on it once it is
complete, with a packet oriented client -> server so `$SMTP_SERVERS 25` and
`flow:to_server` mean what the rule author meant. A signature alerts at most once per
message (Suricata's per-transaction detect state), whichever attachment it matched.
HTTP-only buffers (http_uri...) never match SMTP data, so such signatures are not run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dpictl.engine.app.mime import MimePart
from dpictl.engine.app.smtp import MESSAGE_DONE, PART_DONE, SmtpEvent
from dpictl.engine.detect.detector import REQUEST, Detector
from dpictl.engine.detect.signature import Signature
from dpictl.engine.detect.thresholds import ThresholdTable

if TYPE_CHECKING:
    from dpictl.engine.flow_table import Flow

SMTP_BUFFERS = frozenset({"file_data"})
_NO_FIELDS: dict[str, bytes] = {}


class _PartBuffers:
    """One decoded part as the `buffers` mapping the matcher reads."""

    __slots__ = ("_data",)

    def __init__(self, part: MimePart) -> None:
        self._data = bytes(part.data)

    def get(self, name: str, default=None):
        return self._data if name == "file_data" else default


class SmtpInspection:
    """One per engine; remembers, per (flow, message), the signatures that already alerted."""

    def __init__(self, detector: Detector) -> None:
        self._detector = detector
        # flow id -> message id -> orders of the signatures that alerted on it
        self._matched: dict[int, dict[int, set[int]]] = {}

    def inspect(self, event: SmtpEvent, oriented, flow: Flow,
                thresholds: ThresholdTable) -> list[Signature]:
        if event.kind == MESSAGE_DONE:
            self._matched.get(flow.flow_id, {}).pop(event.tx_id, None)
            return []
        part = event.part
        if event.kind != PART_DONE or part is None or not part.is_attachment or not part.data:
            return []
        matched = self._matched.setdefault(flow.flow_id, {}).setdefault(event.tx_id, set())
        out = self._detector.inspect_app(oriented(True), flow, REQUEST, True,
                                         _PartBuffers(part), _NO_FIELDS, thresholds,
                                         set(matched), only=SMTP_BUFFERS)
        matched.update(sig.order for sig in out)
        return out

    def forget(self, flow_id: int) -> None:
        """The flow ended: drop what is left of its messages."""
        self._matched.pop(flow_id, None)


__all__ = ["SmtpInspection", "SMTP_BUFFERS"]
