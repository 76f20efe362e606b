"""MIME decoding, line by line: structure, transfer encodings, limits, hostile input."""

from __future__ import annotations

from mail_samples import ATTACHMENT, QP_TEXT, b64_lines, multipart_message

from dpictl.engine.app.mime import MAX_DEPTH, MimeDecoder, header_params


def decode(message: bytes, **limits) -> list:
    dec = MimeDecoder(**limits)
    for line in message.splitlines(keepends=True):
        dec.line(line)
    dec.finish()
    return dec.parts


def test_multipart_parts_are_decoded_in_order():
    parts = decode(multipart_message())
    assert [p.content_type for p in parts] == [b"text/plain", b"text/html",
                                               b"application/octet-stream"]
    body, html, exe = parts
    assert bytes(body.data) == b"Hello BODYMARKER\r\n" and not body.is_attachment
    assert bytes(html.data) == QP_TEXT + b"\r\n" and html.filename == b"page.html"
    assert bytes(exe.data) == ATTACHMENT and exe.filename == b"tool.exe"
    assert exe.is_attachment and not exe.truncated and exe.size == len(ATTACHMENT)


def test_preamble_and_epilogue_are_not_parts():
    parts = decode(multipart_message())
    assert not any(b"multi-part message" in p.data or b"epilogue" in p.data for p in parts)


def test_single_part_message_with_a_name_is_an_attachment():
    msg = (b"Content-Type: application/pdf; name=doc.pdf\r\n"
           b"Content-Transfer-Encoding: BASE64\r\n\r\n" + b64_lines(b"%PDF-1.7 data"))
    (part,) = decode(msg)
    assert part.filename == b"doc.pdf" and bytes(part.data) == b"%PDF-1.7 data"


def test_disposition_attachment_without_filename_is_not_a_file():
    # Suricata 7.0.10 opens a file only for a part with a filename (checked with a rule)
    msg = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
           b"Content-Disposition: attachment\r\n\r\nx\r\n--b--\r\n")
    (part,) = decode(msg)
    assert not part.is_attachment


def test_base64_with_garbage_and_missing_padding():
    msg = (b"Content-Type: application/x; name=a\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"aGVs bG8g!!d29y\r\nbGQ\r\n")
    (part,) = decode(msg)
    assert bytes(part.data) == b"hello world"


def test_part_bytes_are_capped_but_counted():
    msg = (b"Content-Type: application/x; name=a\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + b64_lines(b"A" * 5000))
    (part,) = decode(msg, max_part_bytes=1000)
    assert len(part.data) == 1000 and part.truncated and part.size == 5000


def test_number_of_parts_is_capped():
    msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    msg += b"".join(b"--b\r\nContent-Type: text/plain; name=f%d\r\n\r\npart %d\r\n" % (i, i)
                    for i in range(30))
    msg += b"--b--\r\n"
    dec = MimeDecoder(max_parts=5)
    for line in msg.splitlines(keepends=True):
        dec.line(line)
    dec.finish()
    assert [bytes(p.data) for p in dec.parts] == [b"part %d\r\n" % i for i in range(5)]
    assert dec.skipped == 25


def test_deep_nesting_is_bounded():
    msg = b""
    for depth in range(MAX_DEPTH + 20):
        msg += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (depth, depth)
    msg += b"Content-Type: text/plain; name=leaf\r\n\r\nleaf\r\n"
    parts = decode(msg)
    # past the depth limit the multipart headers are not followed: no crash, bounded state
    assert len(parts) <= 1


def test_garbage_never_raises():
    junk = bytes(range(256)) * 50 + b"\r\n--\r\n--x--\r\n" + b"=\r\n" * 10
    decode(junk)
    decode(b"Content-Type: multipart/mixed; boundary=\r\n\r\n" + junk)
    decode(b"Content-Transfer-Encoding: base64\r\n\r\n=" + junk)
    decode(b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + junk)


def test_header_params_quoted_and_bare():
    assert header_params(b'multipart/mixed; boundary="a;b"; charset=utf-8') == {
        b"boundary": b"a;b", b"charset": b"utf-8"}
