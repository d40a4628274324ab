"""Ops log-in: the ops token or a user list with scrypt-hashed passwords; signed session.

Partners' API keys are never consulted here, so they open nothing on the dashboard.
Sessions are recorded in MongoDB (``dashboard_sessions``): logging out deletes the record,
so a copied cookie is dead at once on every replica; a session also carries a proof of the
credentials it was opened with, so a user removed from ``DASHBOARD_USERS`` (or given a new
password, or a rotated ops token) is logged out as soon as the dashboard runs with it.
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
from datetime import timedelta

from fastapi import HTTPException, Request

from shared.infra.mongo_types import Database
from shared.infra.settings import Settings

SESSION_KEY = "ops_actor"
SESSION_ID = "sid"
SESSION_PROOF = "proof"
SESSIONS = "dashboard_sessions"
SESSION_HOURS = 12
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


def _db(request: Request) -> Database:
    db: Database = request.app.state.dashboard.ctx.db
    return db


def credential_proof(settings: Settings, actor: str) -> str | None:
    """A digest of what ``actor`` logs in with today; None once the user is gone."""
    material = settings.regwatch_ops_token if actor == "ops" else users(settings).get(actor)
    if material is None:
        return None
    return hashlib.sha256(f"regwatch-dashboard-session:{material}".encode()).hexdigest()[:32]


async def start_session(request: Request, actor: str) -> None:
    """A new session id on every log-in (no fixation), recorded until it expires."""
    now = request.app.state.dashboard.ctx.clock.now()
    session_id = secrets.token_urlsafe(32)
    request.session.clear()
    request.session.update(
        {
            SESSION_KEY: actor,
            SESSION_ID: session_id,
            SESSION_PROOF: credential_proof(_settings(request), actor),
        }
    )
    await _db(request)[SESSIONS].insert_one(
        {
            "_id": session_id,
            "actor": actor,
            "created_at": now,
            "expires_at": now + timedelta(hours=SESSION_HOURS),
        }
    )


async def end_session(request: Request) -> None:
    session_id = request.session.get(SESSION_ID)
    request.session.clear()
    if session_id:
        await _db(request)[SESSIONS].delete_one({"_id": session_id})


async def _session_actor(request: Request) -> str | None:
    actor, session_id = request.session.get(SESSION_KEY), request.session.get(SESSION_ID)
    if not actor or not session_id:
        return None
    proof = credential_proof(_settings(request), str(actor))
    now = request.app.state.dashboard.ctx.clock.now()
    live = proof is not None and hmac.compare_digest(
        str(request.session.get(SESSION_PROOF, "")), proof
    )
    if live:
        live = bool(
            await _db(request)[SESSIONS].count_documents(
                {"_id": session_id, "expires_at": {"$gt": now}}, limit=1
            )
        )
    if not live:
        request.session.clear()  # the browser drops the dead cookie
        return None
    return str(actor)


async def current_actor(request: Request) -> str | None:
    actor = await _session_actor(request)
    if actor:
        return actor
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and token_matches(
        _settings(request), header[7:].strip()
    ):
        return "ops-token"
    return None


async def require_ops_api(request: Request) -> str:
    """Dependency of the JSON API: a session or the ops bearer token, else 401."""
    actor = await current_actor(request)
    if actor is None:
        raise HTTPException(status_code=401, detail="Log in at /login or send the ops token.")
    return actor


async def require_ops_page(request: Request) -> str:
    """Dependency of the HTML pages: a session, else a redirect to the log-in page."""
    actor = await current_actor(request)
    if actor is None:
        raise LoginRequired()
    return actor


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m services.dashboard.auth PASSWORD")
    print(hash_password(sys.argv[1]))
