"""Ops log-in: the ops token or a user list with scrypt-hashed passwords; signed session.

Partners' API keys are never consulted here, so they open nothing on the dashboard.
Scripts may send ``Authorization: Bearer $REGWATCH_OPS_TOKEN`` to the JSON API instead of
a session cookie. ``python -m services.dashboard.auth PASSWORD`` prints a hash for
``DASHBOARD_USERS=name:<hash>,...``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sys

from fastapi import HTTPException, Request

from shared.infra.settings import Settings

SESSION_KEY = "ops_actor"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class LoginRequired(Exception):
    """An HTML page was asked for without a session: the app redirects to /login."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = hash_password(password, base64.b64decode(salt)).split("$")[2]
    return hmac.compare_digest(expected, digest)


def users(settings: Settings) -> dict[str, str]:
    """name -> password hash, from ``DASHBOARD_USERS``."""
    entries = (e.strip() for e in settings.dashboard_users.split(",") if e.strip())
    return dict(e.split(":", 1) for e in entries if ":" in e)


def session_secret(settings: Settings) -> str:
    """The cookie-signing secret; derived from the ops token when none is configured."""
    if settings.dashboard_session_secret:
        return settings.dashboard_session_secret
    return hashlib.sha256(f"regwatch-dashboard:{settings.regwatch_ops_token}".encode()).hexdigest()


def token_matches(settings: Settings, token: str) -> bool:
    return hmac.compare_digest(token.encode(), settings.regwatch_ops_token.encode())


def authenticate(settings: Settings, *, username: str, password: str) -> str | None:
    """The actor name for these credentials, or None. An empty user name means the token."""
    if not username:
        return "ops" if password and token_matches(settings, password) else None
    stored = users(settings).get(username)
    return username if stored and verify_password(password, stored) else None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.dashboard.ctx.settings
    return settings


def current_actor(request: Request) -> str | None:
    actor = request.session.get(SESSION_KEY)
    if actor:
        return str(actor)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and token_matches(
        _settings(request), header[7:].strip()
    ):
        return "ops-token"
    return None


def require_ops_api(request: Request) -> str:
    """Dependency of the JSON API: a session or the ops bearer token, else 401."""
    actor = current_actor(request)
    if actor is None:
        raise HTTPException(status_code=401, detail="Log in at /login or send the ops token.")
    return actor


def require_ops_page(request: Request) -> str:
    """Dependency of the HTML pages: a session, else a redirect to the log-in page."""
    actor = current_actor(request)
    if actor is None:
        raise LoginRequired()
    return actor


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m services.dashboard.auth PASSWORD")
    print(hash_password(sys.argv[1]))
