"""App layer: detect the protocol of a TCP flow by content (HTTP, SMTP) and drive its parser."""

from dpictl.engine.app.detect import HTTP_METHODS, probe_http, probe_smtp
from dpictl.engine.app.layer import APP_FAILED, APP_HTTP, APP_SMTP, AppLayer
from dpictl.engine.app.smtp import MESSAGE_DONE, PART_DONE, SmtpEvent, SmtpLimits, SmtpParser

__all__ = ["AppLayer", "APP_HTTP", "APP_SMTP", "APP_FAILED", "probe_http", "probe_smtp",
           "HTTP_METHODS", "SmtpParser", "SmtpEvent", "SmtpLimits", "PART_DONE", "MESSAGE_DONE"]
