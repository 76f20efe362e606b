"""The SMTP session parser: commands, replies, DATA/BDAT, events, splitting, limits."""

from __future__ import annotations

import pytest
from mail_samples import ATTACHMENT, b64_lines, multipart_message, session

from dpictl.engine.app.smtp import MESSAGE_DONE, PART_DONE, SmtpLimits, SmtpParser


def play(client: list[bytes], server: list[bytes], parser: SmtpParser | None = None,
         chunk: int | None = None) -> list:
    """Alternate server and client chunks (server greets first); `chunk` re-splits them."""
    parser = parser or SmtpParser()
    events = []
    turns = []
    for i in range(max(len(client), len(server))):
        if i < len(server):
            turns.append((False, server[i]))
        if i < len(client):
            turns.append((True, client[i]))
    for to_server, data in turns:
        pieces = [data] if chunk is None else [data[j:j + chunk]
                                               for j in range(0, len(data), chunk)]
        for piece in pieces:
            events += parser.feed(piece, to_server)
    return events + parser.finish()


def parts_of(events) -> list[bytes]:
    return [bytes(e.part.data) for e in events if e.kind == PART_DONE]


def test_message_parts_and_message_end():
    events = play(*session(multipart_message()))
    assert [e.kind for e in events] == [PART_DONE] * 3 + [MESSAGE_DONE]
    assert parts_of(events)[2] == ATTACHMENT
    assert all(e.tx_id == 0 for e in events)
    assert len(events[-1].parts) == 3


def test_byte_by_byte_gives_the_same_parts():
    whole = parts_of(play(*session(multipart_message())))
    assert parts_of(play(*session(multipart_message()), chunk=1)) == whole
    assert parts_of(play(*session(multipart_message()), chunk=7)) == whole


def test_unpipelined_and_pipelined_sessions_agree():
    assert (parts_of(play(*session(multipart_message(), pipelined=False)))
            == parts_of(play(*session(multipart_message()))))


def test_multiline_replies_and_command_queue():
    parser = SmtpParser()
    parser.feed(b"220-mx first\r\n220 mx second\r\n", False)
    parser.feed(b"EHLO x\r\nMAIL FROM:<a@b>\r\n", True)
    assert parser.commands == [b"EHLO", b"MAIL"]
    parser.feed(b"250-mx\r\n250-SIZE 1000\r\n", False)
    assert parser.commands == [b"EHLO", b"MAIL"]          # multi-line reply not finished
    parser.feed(b"250 HELP\r\n250 ok\r\n", False)
    assert parser.commands == []


def test_two_messages_are_two_transactions():
    client = [b"EHLO x\r\n", b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
              b"Content-Type: text/plain; name=one\r\n\r\nfirst\r\n.\r\n",
              b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
              b"Content-Type: text/plain; name=two\r\n\r\nsecond\r\n.\r\n"]
    events = play(client, [b"220 mx\r\n"])
    done = [(e.tx_id, bytes(e.part.data)) for e in events if e.kind == PART_DONE]
    assert done == [(0, b"first\r\n"), (1, b"second\r\n")]


def test_dot_stuffing_kept_like_suricata_or_undone_on_request():
    msg = b"Content-Type: text/plain; name=a\r\n\r\n..leading dot\r\n.\r\n"
    client = [b"EHLO x\r\n", b"DATA\r\n", msg]
    assert parts_of(play(client, [])) == [b"..leading dot\r\n"]
    parser = SmtpParser(SmtpLimits(unstuff_dots=True))
    assert parts_of(play(client, [], parser)) == [b".leading dot\r\n"]


def test_a_lone_dot_inside_a_line_does_not_end_the_message():
    msg = b"Content-Type: text/plain; name=a\r\n\r\nx\r\n. \r\ny.\r\n.\r\n"
    assert parts_of(play([b"HELO x\r\n", b"DATA\r\n", msg], [])) == [b"x\r\n. \r\ny.\r\n"]


def test_rejected_data_leaves_command_mode():
    client = [b"EHLO x\r\n", b"DATA\r\n", b"RSET\r\n", b"QUIT\r\n"]
    server = [b"220 mx\r\n", b"250 mx\r\n", b"554 no valid recipients\r\n"]
    parser = SmtpParser()
    parser.feed(server[0], False)
    parser.feed(client[0], True)
    parser.feed(server[1], False)
    parser.feed(client[1], True)
    parser.feed(server[2], False)
    assert parser.feed(client[2] + client[3], True) == []
    assert parser.commands[-2:] == [b"RSET", b"QUIT"]


def test_bdat_chunks():
    body = b"Content-Type: application/x; name=a\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    body += b64_lines(b"chunked attachment")
    first, second = body[:50], body[50:]
    client = [b"EHLO x\r\n", b"BDAT %d\r\n" % len(first) + first,
              b"BDAT %d LAST\r\n" % len(second) + second, b"QUIT\r\n"]
    events = play(client, [b"220 mx\r\n"])
    assert parts_of(events) == [b"chunked attachment"]
    assert [e.kind for e in events][-1] == MESSAGE_DONE


def test_starttls_stops_parsing():
    client = [b"EHLO x\r\n", b"STARTTLS\r\n\x16\x03\x01\x00\x05DATA\r\nhello\r\n.\r\n"]
    assert play(client, [b"220 mx\r\n"]) == []


def test_message_cut_short_still_yields_its_parts():
    client, server = session(multipart_message())
    client = client[:-2] + [multipart_message()[:-300]]
    events = play(client, server)
    assert events and events[-1].kind == MESSAGE_DONE


def test_gap_ends_the_message_in_progress():
    parser = SmtpParser()
    parser.feed(b"EHLO x\r\nDATA\r\nContent-Type: text/plain; name=a\r\n\r\nbefore\r\n", True)
    events = parser.gap(100, True)
    assert [e.kind for e in events] == [PART_DONE, MESSAGE_DONE]
    assert parts_of(events) == [b"before\r\n"]
    # back in command mode: later message lines are not glued to the lost one
    assert parser.feed(b"after\r\n.\r\n", True) == []


@pytest.mark.parametrize("junk", [bytes(range(256)) * 64, b"\n" * 10000, b"A" * 200_000])
def test_garbage_is_bounded_and_quiet(junk):
    parser = SmtpParser()
    parser.feed(b"EHLO x\r\n", True)
    parser.feed(junk + b"\r\n", True)      # junk ends mid-line: finish that line first
    parser.feed(junk, False)
    parser.feed(b"DATA\r\n" + junk, True)
    events = parser.finish()
    assert events[-1].kind == MESSAGE_DONE
    assert len(parser.commands) <= 512
