"""Snort 3 -> Suricata 7 translation, rule by rule (no Suricata needed)."""

from __future__ import annotations

import pytest

from dpictl.rules import parse_rule
from dpictl.suricata.translate import Untranslatable, content_text, translate_rule

HEAD = "alert tcp $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS"


def tr(body: str, head: str = HEAD) -> str:
    return translate_rule(parse_rule(f"{head} ( {body} sid:1; rev:2; )", hint="snort3"))


def test_service_http_rule_becomes_an_app_layer_rule_with_suricata_buffers():
    out = tr('msg:"x"; flow:to_server,established; http_uri; content:"/a.php",fast_pattern,'
             'nocase; http_header; content:"X-Y|3A|",nocase; service:http; '
             'classtype:trojan-activity;')
    assert out == ('alert http $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (msg:"x"; '
                   'flow:established,to_server; http.uri; content:"/a.php"; nocase; '
                   'fast_pattern; http.header; content:"X-Y|3A|"; nocase; '
                   'classtype:trojan-activity; sid:1; rev:2;)')


def test_comma_sub_options_become_separate_keywords():
    out = tr('msg:"x"; content:"ab",depth 4,offset 1; content:"cd",distance 0,within 5;')
    assert 'content:"ab"; offset:1; depth:4; content:"cd"; distance:0; within:5;' in out


def test_sticky_buffer_changes_are_written_once_per_change_and_pkt_data_resets():
    out = tr('msg:"x"; file_data; content:"a"; content:"b",distance 0; pkt_data; '
             'content:"c"; service:ftp-data,http;')
    assert out.startswith("alert tcp ")            # several services: the transport stays
    assert 'file.data; content:"a"; content:"b"; distance:0; pkt_data; content:"c";' in out


def test_header_field_maps_to_the_suricata_header_buffer():
    out = tr('msg:"x"; http_header:field user-agent; content:"curl",nocase; service:http;')
    assert 'http.user_agent; content:"curl"; nocase;' in out
    with pytest.raises(Untranslatable, match="x-custom"):
        tr('msg:"x"; http_header:field x-custom; content:"a"; service:http;')


def test_inclusive_bufferlen_range_becomes_an_exclusive_bsize_range():
    out = tr('msg:"x"; http_uri; bufferlen:5<=>14; content:"a"; service:http;')
    assert "http.uri; bsize:4<>15;" in out


def test_pcre_keeps_its_escapes_and_relative_flag():
    out = tr(r'msg:"x"; content:"a"; pcre:"/b\;c\x22/Ri";')
    assert r'pcre:"/b\;c\x22/iR";' in out


def test_flowbits_several_bits():
    out = tr('msg:"x"; flowbits:set,a&b; flowbits:isset,c|d; flowbits:noalert;')
    assert "flowbits:set,a; flowbits:set,b; flowbits:isset,c|d; flowbits:noalert;" in out


def test_byte_options_and_dce_keywords():
    out = tr('msg:"x"; dce_iface:uuid 4b324fc8-1670-01d3-1278-5a47bf6ee188; dce_opnum:"15"; '
             'dce_stub_data; byte_test:4,>,256,0,relative,dce; '
             'byte_jump:4,8,relative,little,align; service:netbios-ssn;',
             head="alert tcp any any -> any 445")
    assert "dce_iface:4b324fc8-1670-01d3-1278-5a47bf6ee188; dce_opnum:15;" in out
    assert "dce_stub_data; byte_test:4,>,256,0,relative,dce; " \
           "byte_jump:4,8,relative,little,align;" in out
    assert out.startswith("alert smb any any -> any 445")


def test_service_header_without_addresses():
    out = translate_rule(parse_rule('alert http ( msg:"x"; http_uri; content:"a"; sid:5; )'))
    assert out.startswith('alert http any any -> any any (msg:"x"; http.uri; content:"a";')


def test_file_data_on_a_protocol_without_suricata_files_keeps_the_transport():
    out = tr('msg:"x"; file_data; content:"a"; service:ftp;', head="alert tcp any any -> any 21")
    assert out.startswith("alert tcp any any -> any 21")


def test_untranslatable_keywords_say_which():
    with pytest.raises(Untranslatable, match="ber_data"):
        tr('msg:"x"; ber_data:0x30; ber_skip:0x01,optional;', head="alert udp any any -> any 161")
    with pytest.raises(Untranslatable, match="sip_header"):
        tr('msg:"x"; sip_header; content:"a"; service:sip;', head="alert udp any any -> any 5060")


def test_snort2_rules_pass_through_as_written():
    text = 'alert tcp any any -> any 80 (msg:"x"; content:"a"; nocase; http_uri; sid:3;)'
    assert translate_rule(parse_rule(text)) == text


def test_content_text_escapes_what_suricata_cannot_take_literally():
    assert content_text(b'a"b;c\\d|e:f\x00') == "a|22|b|3B|c|5C|d|7C|e|3A|f|00|"
    assert content_text(b"\x01\x02ok") == "|01 02|ok"


def test_msg_is_escaped():
    out = tr(r'msg:"say \"hi\"\; now";')
    assert r'msg:"say \"hi\"\; now";' in out


def test_ber_keywords_are_untranslatable_with_the_reason():
    with pytest.raises(Untranslatable, match="ber_skip has no Suricata 7 equivalent .*BER"):
        tr('msg:"x"; content:"|06 03|"; ber_skip:0x01,optional;', head="alert ssl")
    with pytest.raises(Untranslatable, match="ber_data has no Suricata 7 equivalent"):
        tr('msg:"x"; content:"|06 03|"; ber_data:0x04;', head="alert ssl")


@pytest.mark.parametrize("value, expected", [
    # isdataat:N,relative holds when at least N bytes follow the cursor
    (">=519", "isdataat:519,relative;"),
    (">519", "isdataat:520,relative;"),
    ("<10", "isdataat:!10,relative;"),
    ("<=10", "isdataat:!11,relative;"),
    ("7", "isdataat:7,relative; isdataat:!8,relative;"),
    ("3<=>5", "isdataat:3,relative; isdataat:!6,relative;"),
    ("3<>7", "isdataat:4,relative; isdataat:!7,relative;"),
])
def test_bufferlen_relative_becomes_isdataat_bounds(value: str, expected: str):
    out = tr(f'msg:"x"; http_uri; content:"/w3who.dll?"; bufferlen:{value},relative; '
             'service:http;')
    assert f'content:"/w3who.dll?"; {expected} sid:1;' in out


@pytest.mark.parametrize("value", ["!5", "3<>4", "<0"])
def test_bufferlen_relative_without_an_isdataat_form_is_untranslatable(value: str):
    with pytest.raises(Untranslatable, match="bufferlen"):
        tr(f'msg:"x"; http_uri; content:"a"; bufferlen:{value},relative; service:http;')
