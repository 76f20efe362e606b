"""App layer: detect a TCP flow's protocol by content (HTTP, SMTP, TLS), drive its parser."""

from dpictl.engine.app.detect import HTTP_METHODS, probe_http, probe_smtp, probe_tls
from dpictl.engine.app.layer import APP_FAILED, APP_HTTP, APP_SMTP, APP_TLS, AppLayer
from dpictl.engine.app.smtp import MESSAGE_DONE, PART_DONE, SmtpEvent, SmtpLimits, SmtpParser
from dpictl.engine.app.tls import TlsState

__all__ = ["AppLayer", "APP_HTTP", "APP_SMTP", "APP_TLS", "APP_FAILED", "probe_http",
           "probe_smtp", "probe_tls", "HTTP_METHODS", "SmtpParser", "SmtpEvent", "SmtpLimits",
           "PART_DONE", "MESSAGE_DONE", "TlsState"]
