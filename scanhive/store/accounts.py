"""Users and login sessions. Passwords are kept as scrypt hashes (hashlib, no extra library)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update

from scanhive.store.schema import sessions, users

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a logged-in user or a configured API key."""

    username: str
    is_admin: bool


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


def ensure_admin(db: Engine, name: str, password: str | None) -> str | None:
    """Create the admin account on first start; returns a generated password to show once."""
    generated = None
    with db.begin() as conn:
        exists = conn.execute(select(users.c.name).where(users.c.name == name)).first()
        if exists is None:
            if password is None:
                password = generated = secrets.token_urlsafe(12)
            conn.execute(users.insert().values(name=name, password_hash=hash_password(password), is_admin=True))
        elif password is not None:  # the configured password is authoritative
            conn.execute(update(users).where(users.c.name == name).values(password_hash=hash_password(password)))
    return generated


def login(db: Engine, name: str, password: str, lifetime: int) -> tuple[str, str] | None:
    """(session_id, csrf token) for valid credentials, else None."""
    with db.begin() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        if row is None or not check_password(password, row["password_hash"]):
            return None
        session_id, csrf = secrets.token_hex(16), secrets.token_hex(16)
        conn.execute(
            sessions.insert().values(
                session_id=session_id, csrf_token=csrf, username=name, expires_ts=time.time() + lifetime
            )
        )
    return session_id, csrf


def session_principal(db: Engine, session_id: str) -> Principal | None:
    query = (
        select(users.c.name, users.c.is_admin)
        .join(sessions, sessions.c.username == users.c.name)
        .where(sessions.c.session_id == session_id, sessions.c.expires_ts > time.time())
    )
    with db.connect() as conn:
        row = conn.execute(query).first()
    return Principal(row.name, bool(row.is_admin)) if row else None


def logout(db: Engine, session_id: str) -> bool:
    with db.begin() as conn:
        return conn.execute(delete(sessions).where(sessions.c.session_id == session_id)).rowcount == 1
