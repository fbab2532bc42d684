"""Bearer tokens: issued by `cardtrace token issue`, kept only as their sha256 in the data directory.

The plain token is printed once and never stored; the file maps each token's hash to who holds it (role,
subject, station binding, when it was issued). The file is replaced atomically and readable by its owner only.

>>> import tempfile, pathlib
>>> from projections.data_dir import DataDir
>>> data = DataDir(root=pathlib.Path(tempfile.mkdtemp()))
>>> token = issue_token(data, "operator", subject="OP-42", station="QA-BENCH-3")
>>> TokenBook(data).credential(token).station
'QA-BENCH-3'
"""

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

from core.commands import Role
from core.errors import InvalidCommand
from core.ids import parse_station_id
from projections.data_dir import DataDir

ROLES: tuple[Role, ...] = get_args(Role)
TOKEN_PREFIX = "ct_"
REFRESH_SECONDS = 1.0  # how stale a known token may be: a token removed from the file stops working within this


@dataclass(frozen=True, kw_only=True, slots=True)
class Credential:
    """Who holds a token: the role decides what they may do, a station (if any) binds their scans to it."""

    role: Role
    subject: str
    station: str | None
    issued_at: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(data_dir: DataDir, role: str, subject: str | None = None, station: str | None = None) -> str:
    """A new bearer token for `role`; only its hash is written to `data_dir.tokens_path`."""
    if role not in ROLES:
        raise InvalidCommand(f"role {role!r} must be one of {', '.join(ROLES)}")
    bound_station = parse_station_id(station) if station is not None else None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    digest = token_digest(token)
    entry: dict[str, object] = {
        "role": role,
        "subject": subject or f"{role}-{digest[:8]}",
        "station": bound_station,
        "issued_at": datetime.now(UTC).isoformat(),
    }
    path = data_dir.tokens_path
    with _exclusive(path):
        tokens = _read(path)
        tokens[digest] = entry
        _write_atomically(path, {"tokens": tokens})
    return token


class TokenBook:
    """The issued tokens as the server sees them, re-read when the file changes (a token issued while it runs).

    A known token looks at the file no more than once per REFRESH_SECONDS; an unknown one looks at once (a stat),
    so a token works the moment `cardtrace token issue` printed it."""

    def __init__(self, data_dir: DataDir) -> None:
        self._path = data_dir.tokens_path
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._credentials: dict[str, Credential] = {}
        self._checked = -REFRESH_SECONDS

    def credential(self, token: str) -> Credential | None:
        digest = token_digest(token)
        self._refresh()
        known = self._credentials.get(digest)
        if known is None:
            self._refresh(at_once=True)
            known = self._credentials.get(digest)
        return known

    def _refresh(self, *, at_once: bool = False) -> None:
        now = time.monotonic()
        if not at_once and now - self._checked < REFRESH_SECONDS:
            return
        self._checked = now
        try:
            status = self._path.stat()
        except FileNotFoundError:
            self._credentials, self._signature = {}, None
            return
        signature = (status.st_mtime_ns, status.st_size, status.st_ino)
        if signature == self._signature:
            return
        with self._lock:
            if signature == self._signature:
                return
            self._credentials = {digest: _credential(entry) for digest, entry in _read(self._path).items()}
            self._signature = signature


def _credential(entry: dict[str, object]) -> Credential:
    role = entry.get("role")
    if role not in ROLES:
        raise InvalidCommand(f"token file holds an unknown role {role!r}")
    station = entry.get("station")
    return Credential(
        role=role,
        subject=str(entry.get("subject", "")),
        station=str(station) if station is not None else None,
        issued_at=str(entry.get("issued_at", "")),
    )


def _read(path: Path) -> dict[str, dict[str, object]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as error:
        raise InvalidCommand(f"{path}: token file is not valid JSON: {error}") from None
    tokens = document.get("tokens") if isinstance(document, dict) else None
    if not isinstance(tokens, dict):
        raise InvalidCommand(f"{path}: token file must be an object with a 'tokens' table")
    return {str(digest): dict(entry) for digest, entry in tokens.items() if isinstance(entry, dict)}


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Serializes issuers (two `token issue` at once must not lose one of the tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _write_atomically(path: Path, document: dict[str, object]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)  # the umask may have been looser than the mode asked at creation
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
