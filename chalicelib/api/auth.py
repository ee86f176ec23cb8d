"""Identity: bearer JWTs, the Chalice authorizer and the caller's principal.

Deployed stages verify RS256 tokens against the issuer's JWKS (Cognito or the city's OIDC
provider: both are just an issuer URL and a JWKS URL, since AWS China has no Cognito user pools).
The local stage signs HS256 tokens itself for the seeded demo users (``POST /auth/dev-login``).
The authorizer only proves who the caller is; what they may do is decided per route
(:mod:`chalicelib.api.routing`) and per ticket (:mod:`chalicelib.api.scope`).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import jwt
from chalice import AuthResponse, Blueprint

from chalicelib.config import Settings, get_settings

ROLES = ("agent", "dispatcher", "handler", "dept_lead", "manager", "admin", "citizen", "partner")
STAFF_ROLES = ("agent", "dispatcher", "handler", "dept_lead", "manager", "admin")
DEPARTMENT_ROLES = ("handler", "dept_lead")
TOKEN_LIFETIME_SECONDS = 12 * 3600
REQUIRED_CLAIMS = ("exp", "iat", "sub")
JWKS_TIMEOUT_SECONDS = 3.0
JWKS_LIFESPAN_SECONDS = 600.0  # a revoked key stops being trusted within 10 minutes
JWKS_FAILURE_BACKOFF_SECONDS = 30.0


class TokenRejected(Exception):
    """The token is missing, malformed, expired or not ours.

    API Gateway turns an authorizer exception whose message is exactly ``Unauthorized`` into a
    401 (with the envelope body configured as a GatewayResponse in infra/); the local gateway
    adapter does the same.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("Unauthorized")
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified identity and the scope that comes with it."""

    username: str
    role: str
    department: str | None = None
    district: str | None = None
    display_name: str | None = None

    @property
    def is_department_scoped(self) -> bool:
        """Handlers and department leads see their own department's tickets only."""
        return self.role in DEPARTMENT_ROLES

    def to_context(self) -> dict[str, str]:
        """Authorizer context: API Gateway only passes flat string values."""
        return {
            "username": self.username,
            "role": self.role,
            "department": self.department or "",
            "district": self.district or "",
            "display_name": self.display_name or "",
        }

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> "Principal":
        """Rebuild the principal from the authorizer context of a request."""
        return cls(
            username=str(context["username"]),
            role=str(context["role"]),
            department=str(context.get("department") or "") or None,
            district=str(context.get("district") or "") or None,
            display_name=str(context.get("display_name") or "") or None,
        )


def issue_local_token(principal: Principal, *, now: float | None = None,
                      settings: Settings | None = None) -> str:
    """Sign a token for a demo user; only the local stage may do this."""
    settings = settings or get_settings()
    if not settings.is_local:
        raise RuntimeError("local tokens are only issued in the local stage")
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": principal.username,
        "iat": issued,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
        "role": principal.role,
        "department": principal.department,
        "district": principal.district,
        "name": principal.display_name,
    }
    return jwt.encode(claims, settings.local_jwt_secret, algorithm="HS256")


class JwksKeys:
    """The identity provider's signing keys: fetched with a short timeout, cached, failures remembered.

    PyJWKClient caches the key set for ``JWKS_LIFESPAN_SECONDS`` and waits at most
    ``JWKS_TIMEOUT_SECONDS`` for the provider. When a fetch fails, every token is refused at once for
    ``JWKS_FAILURE_BACKOFF_SECONDS`` instead of each request waiting on a provider that is down.
    """

    def __init__(self, url: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=JWKS_LIFESPAN_SECONDS,
                                      timeout=JWKS_TIMEOUT_SECONDS)
        self._clock = clock
        self._failed_until = 0.0
        self._lock = threading.Lock()

    def signing_key(self, token: str) -> Any:
        """The key that signed ``token``; :class:`TokenRejected` while the provider is known down."""
        if self._clock() < self._failed_until:
            raise TokenRejected("identity provider unreachable (recent failure)")
        try:
            return self.client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            with self._lock:
                self._failed_until = self._clock() + JWKS_FAILURE_BACKOFF_SECONDS
            raise TokenRejected("identity provider unreachable") from exc


_jwks_by_url: dict[str, JwksKeys] = {}
_jwks_lock = threading.Lock()


def jwks_keys(url: str) -> JwksKeys:
    """One :class:`JwksKeys` per JWKS URL for the life of the process (its cache outlives requests)."""
    with _jwks_lock:
        if url not in _jwks_by_url:
            _jwks_by_url[url] = JwksKeys(url)
        return _jwks_by_url[url]


def forget_jwks() -> None:
    """Drop cached key sets and remembered failures (tests)."""
    with _jwks_lock:
        _jwks_by_url.clear()


def verify_token(token: str, *, settings: Settings | None = None) -> Principal:
    """Check a bearer token's signature, issuer, audience and expiry; return its principal.

    Tokens must carry ``exp``, ``iat`` and ``sub``: a token without an expiry would be valid forever.
    """
    settings = settings or get_settings()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        raise TokenRejected("empty token")
    options = {"require": list(REQUIRED_CLAIMS)}
    try:
        if settings.is_local:
            if not settings.local_jwt_secret:
                raise TokenRejected("no local signing secret")
            claims = jwt.decode(token, settings.local_jwt_secret, algorithms=["HS256"], options=options,
                                audience=settings.jwt_audience, issuer=settings.jwt_issuer)
        else:
            if not settings.jwks_url:
                raise TokenRejected("no JWKS configured")
            key = jwks_keys(settings.jwks_url).signing_key(token)
            claims = jwt.decode(token, key, algorithms=["RS256"], options=options,
                                audience=settings.jwt_audience, issuer=settings.jwt_issuer)
    except jwt.PyJWTError as exc:
        raise TokenRejected(type(exc).__name__) from exc
    role = claims.get("custom:role") or claims.get("role")
    if role not in ROLES:
        raise TokenRejected("token has no known role")
    username = claims.get("cognito:username") or claims.get("preferred_username") or claims.get("sub")
    if not isinstance(username, str) or not username:
        raise TokenRejected("token has no subject")
    department = claims.get("custom:department") or claims.get("department")
    district = claims.get("custom:district") or claims.get("district")
    return Principal(
        username=username,
        role=role,
        department=department if isinstance(department, str) and department else None,
        district=district if isinstance(district, str) and district else None,
        display_name=claims.get("name") if isinstance(claims.get("name"), str) else None,
    )


auth_bp = Blueprint(__name__)


@auth_bp.authorizer(name="jwt_auth", ttl_seconds=300)
def jwt_auth(auth_request: Any) -> AuthResponse:
    """The Chalice authorizer: a verified principal is allowed to reach every route.

    Role and department checks happen in the route wrapper, where the route's declared policy is.
    """
    principal = verify_token(auth_request.token or "")
    return AuthResponse(routes=["*"], principal_id=principal.username, context=principal.to_context())
