"""App layer: detect the protocol of a TCP flow by content and drive its parser."""

from dpictl.engine.app.detect import HTTP_METHODS, probe_http
from dpictl.engine.app.layer import APP_FAILED, APP_HTTP, AppLayer

__all__ = ["AppLayer", "APP_HTTP", "APP_FAILED", "probe_http", "HTTP_METHODS"]
