"""Server-side sessions of the web portal.

The browser holds only a random session id in an HttpOnly cookie. The access and refresh tokens
stay in a file per session under `<data dir>/portal-sessions`, named by the SHA-256 of the id,
so that every gunicorn worker process sees the same sessions and a directory listing does not
reveal a cookie value.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import time
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

# Idle lifetime of a session without "remember me", and the lifetime of one with it.
IDLE_SECONDS = 12 * 3600
REMEMBER_SECONDS = 30 * 24 * 3600


class SessionStore:
    """Files of JSON session data keyed by a random session id; writes are atomic renames."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, session_id: str) -> Path:
        digest = hashlib.sha256(session_id.encode()).hexdigest()
        return self.directory / f"{digest}.json"

    def create(self, data: dict) -> str:
        session_id = secrets.token_urlsafe(32)
        self.save(session_id, data)
        return session_id

    def load(self, session_id: str | None) -> dict | None:
        """Return the session's data, or None when it is unknown or expired (an expired file is removed)."""
        if not session_id or len(session_id) > 100:
            return None
        path = self._path(session_id)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if data.get("expires_at", 0) < time.time():
            self.delete(session_id)
            return None
        return data

    def save(self, session_id: str, data: dict) -> None:
        lifetime = REMEMBER_SECONDS if data.get("remember_me") else IDLE_SECONDS
        data["expires_at"] = time.time() + lifetime
        path = self._path(session_id)
        temporary = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)

    def delete(self, session_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(session_id).unlink()

    @contextlib.contextmanager
    def locked(self, session_id: str):
        """Hold an exclusive lock for one session across processes, e.g. while its tokens are refreshed."""
        lock_path = self._path(session_id).with_suffix(".lock")
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def sweep(self) -> int:
        """Remove expired session files and their lock files; return how many sessions were removed."""
        removed = 0
        now = time.time()
        for path in self.directory.glob("*.json"):
            try:
                expired = json.loads(path.read_text()).get("expires_at", 0) < now
            except (OSError, ValueError):
                expired = True
            if expired:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    path.with_suffix(".lock").unlink(missing_ok=True)
                    removed += 1
        if removed:
            log.info("portal.sessions_swept", removed=removed)
        return removed
