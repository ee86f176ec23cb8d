"""One HTTP POST to a partner endpoint, on the address the SSRF guard checked.

The connection goes to ``Target.address`` (never re-resolved), while TLS verifies the
certificate against the host name and the ``Host`` header carries it. Redirects are not
followed (a 3xx is a failed attempt, as Standard Webhooks recommends). The answer is reduced to
what the sender needs: status, ``Retry-After`` and a short, bounded excerpt of the body.
"""
from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from chalicelib.integration.urlguard import Target

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0  # Standard Webhooks: give the receiver 15-30 s
MAX_RESPONSE_EXCERPT = 300
USER_AGENT = "complaint-platform-webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What came back from one attempt (status 0: no HTTP answer at all)."""

    status: int
    retry_after: int | None
    excerpt: str
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # the Lambda runtime's OpenSSL trust store
        return ssl.create_default_context()


def parse_retry_after(value: str | None, now: float) -> int | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0, int(when.timestamp() - now))


def post(target: Target, body: bytes, headers: dict[str, str], *,
         connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT) -> Answer:
    """POST ``body`` to ``target``; never raises for network trouble (it is an attempt's outcome)."""
    import urllib3

    started = time.monotonic()
    all_headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}", **headers}
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    pool_args: dict[str, Any] = {"timeout": timeout, "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, target.port, server_hostname=target.host,
                                           assert_hostname=target.host, ssl_context=_tls_context(), **pool_args)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, **pool_args)
    try:
        response = pool.urlopen("POST", target.path, body=body, headers=all_headers, redirect=False,
                                preload_content=False, assert_same_host=False)
        try:
            excerpt = response.read(MAX_RESPONSE_EXCERPT, decode_content=True) or b""
        finally:
            response.release_conn()
        return Answer(status=int(response.status),
                      retry_after=parse_retry_after(response.headers.get("Retry-After"), time.time()),
                      excerpt=excerpt.decode("utf-8", "replace"), error=None,
                      duration_ms=int((time.monotonic() - started) * 1000))
    except urllib3.exceptions.HTTPError as exc:
        return Answer(status=0, retry_after=None, excerpt="", error=type(exc).__name__,
                      duration_ms=int((time.monotonic() - started) * 1000))
    except (OSError, ssl.SSLError) as exc:
        return Answer(status=0, retry_after=None, excerpt="", error=type(exc).__name__,
                      duration_ms=int((time.monotonic() - started) * 1000))
    finally:
        pool.close()
