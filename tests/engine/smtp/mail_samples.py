"""Mail messages and SMTP sessions shared by the SMTP tests (built here, not captured)."""

from __future__ import annotations

import base64


def b64_lines(data: bytes) -> bytes:
    """Base64 in 76-column CRLF lines, as mail clients write it."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


ATTACHMENT = b"MZ\x90\x00 binary attachment carrying SECRETMARKER inside \xff\x00" * 40
QP_TEXT = b"caf\xe9 = 100% SOFTJOINED line"


def multipart_message(attachment: bytes = ATTACHMENT) -> bytes:
    """multipart/mixed: a 7bit body, a nested multipart/alternative with a QP attachment,
    and a base64 attachment."""
    return (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed;\r\n boundary=\"=_outer\"\r\n\r\n"
        b"This is a multi-part message in MIME format.\r\n"
        b"--=_outer\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello BODYMARKER\r\n"
        b"--=_outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
        b"--inner\r\nContent-Type: text/html; name=\"page.html\"\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"caf=E9 =3D 100% SOFT=\r\nJOINED line\r\n"
        b"--inner--\r\n"
        b"--=_outer\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment;\r\n filename=\"tool.exe\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64_lines(attachment) +
        b"--=_outer--\r\nepilogue\r\n")


def session(message: bytes, *, pipelined: bool = True) -> tuple[list[bytes], list[bytes]]:
    """(client chunks, server chunks) of a session delivering `message` with DATA."""
    client = [b"EHLO client.example.org\r\n"]
    if pipelined:
        client.append(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
    else:
        client += [b"MAIL FROM:<a@example.org>\r\n", b"RCPT TO:<b@example.org>\r\n", b"DATA\r\n"]
    client += [message + b".\r\n", b"QUIT\r\n"]
    server = [b"220 mx.example.org ESMTP\r\n",
              b"250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"]
    replies = [b"250 2.1.0 Ok\r\n", b"250 2.1.5 Ok\r\n", b"354 End data with <CR><LF>.<CR><LF>\r\n"]
    server += [b"".join(replies)] if pipelined else replies
    server += [b"250 2.0.0 queued\r\n", b"221 bye\r\n"]
    return client, server
