"""The local HTTP server: a client that hangs up early is not reported as a server error."""
from __future__ import annotations

from chalicelib.local.server import LocalHttpServer


def test_a_client_hanging_up_is_not_a_server_error(capsys):
    server = LocalHttpServer(0, gateway=None, portal_dir=None)  # type: ignore[arg-type]
    try:
        try:
            raise BrokenPipeError(32, "Broken pipe")
        except BrokenPipeError:
            server.handle_error(None, ("127.0.0.1", 50000))
        assert "Traceback" not in capsys.readouterr().err
        try:
            raise ValueError("a real failure")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 50000))
        assert "ValueError" in capsys.readouterr().err  # anything else is still reported
    finally:
        server.server_close()
