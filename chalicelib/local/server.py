"""The local HTTP front door: the API through the envelope gateway, and the static portal.

``/portal/`` serves the built single-page app (portal/dist) with index.html as the fallback for
client-side routes; every other path goes to the Chalice app exactly as API Gateway would send it.
Binds to 127.0.0.1 only.
"""
from __future__ import annotations

import base64
import mimetypes
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalicelib.local.gateway import EnvelopeGateway
from chalicelib.observability import logger

MAX_REQUEST_BYTES = 12 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "LocalHttpServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep personal data out of stderr
        return

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._send(413, {"Content-Type": "application/json"},
                       b'{"error":{"code":"payload_too_large","message":"request too large","details":{}}}')
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        path = self.path
        if urlsplit(path).path.startswith("/portal") and self.command in ("GET", "HEAD"):
            self._serve_portal(urlsplit(path).path)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.gateway.handle(self.command, path, headers, body, source_ip=self.client_address[0])
        raw = answer.get("body")
        if raw is None:
            data = b""
        elif answer.get("isBase64Encoded"):
            data = base64.b64decode(raw)
        elif isinstance(raw, bytes):
            data = raw
        else:
            data = str(raw).encode("utf-8")
        out_headers = dict(answer.get("headers") or {})
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            out_headers[name] = ", ".join(values)
        self._send(int(answer.get("statusCode", 200)), out_headers, data)

    def _serve_portal(self, path: str) -> None:
        root = self.server.portal_dir
        if root is None or not root.exists():
            self._send(404, {"Content-Type": "text/plain; charset=utf-8"}, "门户尚未构建 (portal not built)".encode())
            return
        relative = path[len("/portal"):].lstrip("/") or "index.html"
        target = (root / relative).resolve()
        if root.resolve() not in target.parents and target != root.resolve():
            self._send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        if not target.is_file():
            target = root / "index.html"
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
            ctype += "; charset=utf-8"
        cache = "no-cache" if target.name == "index.html" else "public, max-age=3600"
        self._send(200, {"Content-Type": ctype, "Cache-Control": cache}, target.read_bytes())

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else 0))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle


class LocalHttpServer(ThreadingHTTPServer):
    """A threading HTTP server bound to loopback, carrying the gateway and the portal folder."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, gateway: EnvelopeGateway, portal_dir: Path | None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.gateway = gateway
        self.portal_dir = portal_dir

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before its answer (a timeout, a closed tab) is not a server error."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            logger.info("client went away before its answer was sent")
            return
        super().handle_error(request, client_address)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        thread.start()
        return thread
