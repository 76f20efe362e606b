"""The snort_alert line must be what Snort 3 alert_fast writes with -y, or Calico's parser
(and anything reading Calico's events) misreads it."""

from __future__ import annotations

import re

from dpictl.alerts.alert_fast import format_alert_fast
from dpictl.alerts.builder import alert_from_detection

from .factories import make_detection, make_rule

# Calico's parser: sid/rev from [gid:sid:rev], addresses from the last three tokens.
_FAST = re.compile(r'^(\d\d/\d\d/\d\d-\d\d:\d\d:\d\d\.\d{6}) \[\*\*\] \[(\d+):(\d+):(\d+)\] '
                   r'"(.*)" \[\*\*\] (?:\[Classification: ([^\]]+)\] )?\[Priority: (\d+)\] '
                   r'\{(\w[\w-]*)\} (\S+) -> (\S+)$')


def test_tcp_line_exact():
    line = format_alert_fast(1700000000.0011, 1, 21562, 6, "MALWARE-CNC x", "A Network Trojan "
                             "was detected", 1, "TCP", "10.244.1.10", 43512, "10.244.1.11", 80)
    assert line == ('23/11/14-22:13:20.001100 [**] [1:21562:6] "MALWARE-CNC x" [**] '
                    '[Classification: A Network Trojan was detected] [Priority: 1] '
                    '{TCP} 10.244.1.10:43512 -> 10.244.1.11:80')
    assert _FAST.match(line)


def test_icmp_line_has_no_ports_like_calicos_sample():
    # The public Calico webhook sample, rebuilt field by field.
    ts = 1727425450.080704  # 24/09/27-08:24:10.080704 UTC
    line = format_alert_fast(ts, 1, 408, 8, "PROTOCOL-ICMP Echo Reply", "Misc activity", 3,
                             "ICMP", "8.8.8.8", 0, "192.168.142.9", 0)
    assert line == ('24/09/27-08:24:10.080704 [**] [1:408:8] "PROTOCOL-ICMP Echo Reply" [**] '
                    '[Classification: Misc activity] [Priority: 3] {ICMP} 8.8.8.8 -> '
                    '192.168.142.9')


def test_no_classtype_leaves_classification_out():
    line = format_alert_fast(0.5, 1, 1000001, 1, "m", "", 3, "UDP", "1.2.3.4", 53, "5.6.7.8", 999)
    assert "[Classification" not in line
    assert line.endswith("[Priority: 3] {UDP} 1.2.3.4:53 -> 5.6.7.8:999")
    assert line.startswith("70/01/01-00:00:00.500000 ")


def test_builder_line_parses_back_to_the_alert_fields():
    det = make_detection(make_rule(classtype="trojan-activity", priority=1))
    alert = alert_from_detection(det, {"trojan-activity": ("A Network Trojan was detected", 1)})
    m = _FAST.match(alert.snort_alert)
    assert m, alert.snort_alert
    assert (int(m[3]), int(m[4])) == (alert.sid, alert.rev) == (21562, 6)
    assert m[6] == "A Network Trojan was detected"
    assert m[9] == "10.244.1.10:43512" and m[10] == "10.244.1.11:80"
    assert alert.record == {"snort_signature_id": "21562", "snort_signature_revision": "6",
                            "snort_alert": alert.snort_alert}
