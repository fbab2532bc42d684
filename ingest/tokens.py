"""Bearer tokens: issued by `cardtrace token issue`, kept only as their sha256 in the data directory.

The plain token is printed once and never stored; the file maps each token's hash to who holds it (role,
subject, station binding, when it was issued). The file is replaced atomically and readable by its owner only.
A revoked token moves from the `tokens` table to the `revoked` one, with when it was revoked: the server
reads only `tokens`, so it stops honouring the token within REFRESH_SECONDS, and the plant keeps a record of
who held access when. A token is named by its *id*, the first TOKEN_ID_LENGTH hex digits of its hash, which
`cardtrace token list` shows and `cardtrace token revoke` takes (the token itself is never shown again).

>>> import tempfile, pathlib
>>> from projections.data_dir import DataDir
>>> data = DataDir(root=pathlib.Path(tempfile.mkdtemp()))
>>> token = issue_token(data, "operator", subject="OP-42", station="QA-BENCH-3")
>>> TokenBook(data).credential(token).station
'QA-BENCH-3'
>>> [revoked.subject for revoked in revoke_tokens(data, subject="OP-42")]
['OP-42']
>>> TokenBook(data).credential(token) is None
True
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

from core.commands import Role
from core.errors import InvalidCommand
from core.ids import parse_station_id
from projections.data_dir import DataDir

log = logging.getLogger("cardtrace.tokens")

ROLES: tuple[Role, ...] = get_args(Role)
TOKEN_PREFIX = "ct_"
REFRESH_SECONDS = 1.0  # how stale a known token may be: a token removed from the file stops working within this
TOKEN_ID_LENGTH = 12  # hex digits of the hash that name a token in `token list` and `token revoke`
_MIN_ID_PREFIX = 6  # a shorter prefix names too many tokens to be typed on purpose


@dataclass(frozen=True, kw_only=True, slots=True)
class Credential:
    """Who holds a token: the role decides what they may do, a station (if any) binds their scans to it."""

    role: Role
    subject: str
    station: str | None
    issued_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class IssuedToken:
    """What the plant knows of a token it issued, never the token itself."""

    token_id: str
    role: str
    subject: str
    station: str | None
    issued_at: str
    revoked_at: str | None = None


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
        tokens, revoked = _read_tables(path)
        tokens[digest] = entry
        _write_atomically(path, {"tokens": tokens, "revoked": revoked})
    return token


def list_tokens(data_dir: DataDir, *, include_revoked: bool = False) -> list[IssuedToken]:
    """The tokens issued in `data_dir`, oldest first; the revoked ones too if asked."""
    tokens, revoked = _read_tables(data_dir.tokens_path)
    listed = [_issued(digest, entry) for digest, entry in tokens.items()]
    if include_revoked:
        listed += [_issued(digest, entry) for digest, entry in revoked.items()]
    return sorted(listed, key=lambda issued: (issued.issued_at, issued.token_id))


def revoke_tokens(
    data_dir: DataDir, references: Sequence[str] = (), *, subject: str | None = None
) -> list[IssuedToken]:
    """Revoke the tokens named by `references` (token ids or id prefixes from `token list`, or whole tokens) and
    every live token held by `subject`; returns what was revoked.

    All or nothing: a reference that names no live token, or more than one, is an InvalidCommand and nothing is
    revoked. A running server refuses a revoked token within REFRESH_SECONDS.
    """
    if not references and subject is None:
        raise InvalidCommand("name the tokens to revoke: their ids (see `cardtrace token list`) or --subject")
    path = data_dir.tokens_path
    with _exclusive(path):
        tokens, revoked = _read_tables(path)
        chosen = [_resolve(reference, tokens, revoked) for reference in references]
        if subject is not None:
            held = [digest for digest, entry in tokens.items() if entry.get("subject") == subject]
            if not held:
                raise InvalidCommand(f"no live token is held by subject {subject!r}")
            chosen += held
        revoked_at = datetime.now(UTC).isoformat()
        done: list[IssuedToken] = []
        for digest in dict.fromkeys(chosen):  # once each, in the order named
            entry = {**tokens.pop(digest), "revoked_at": revoked_at}
            revoked[digest] = entry
            done.append(_issued(digest, entry))
        _write_atomically(path, {"tokens": tokens, "revoked": revoked})
    return done


def _resolve(reference: str, tokens: dict[str, dict[str, object]], revoked: dict[str, dict[str, object]]) -> str:
    """The hash of the one live token `reference` names: a prefix of a token id, or a whole token (whose hash is
    the longest prefix there is)."""
    if reference.startswith(TOKEN_PREFIX):
        prefix, shown = token_digest(reference), "that token"
    else:
        prefix, shown = reference.strip().lower(), f"token id {reference!r}"
        if len(prefix) < _MIN_ID_PREFIX or any(c not in "0123456789abcdef" for c in prefix):
            raise InvalidCommand(
                f"{shown} must be at least {_MIN_ID_PREFIX} hex digits of an id that `cardtrace token list` shows"
            )
    matches = [digest for digest in tokens if digest.startswith(prefix)]
    if len(matches) > 1:
        ids = ", ".join(sorted(digest[:TOKEN_ID_LENGTH] for digest in matches))
        raise InvalidCommand(f"{shown} names {len(matches)} tokens ({ids}): give more of the id")
    if not matches:
        gone = [entry for digest, entry in revoked.items() if digest.startswith(prefix)]
        if gone:
            raise InvalidCommand(f"{shown} was already revoked at {gone[0].get('revoked_at')}")
        raise InvalidCommand(f"{shown} names no token issued by this plant")
    return matches[0]


def _issued(digest: str, entry: dict[str, object]) -> IssuedToken:
    station = entry.get("station")
    revoked_at = entry.get("revoked_at")
    return IssuedToken(
        token_id=digest[:TOKEN_ID_LENGTH],
        role=str(entry.get("role", "")),
        subject=str(entry.get("subject", "")),
        station=str(station) if station is not None else None,
        issued_at=str(entry.get("issued_at", "")),
        revoked_at=str(revoked_at) if revoked_at is not None else None,
    )


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
        self.problem: str | None = None  # why the file could not be read last time it changed (None: it could)

    def credential(self, token: str) -> Credential | None:
        return self.credential_of_digest(token_digest(token))

    def credential_of_digest(self, digest: str) -> Credential | None:
        """Who holds the token whose sha256 is `digest`, if it is live (issued and not revoked)."""
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
            self._credentials, self._signature, self.problem = {}, None, None
            return
        except OSError as error:  # e.g. a directory the service's user may not enter
            self.problem = f"{self._path}: token file cannot be read: {error}"
            return
        signature = (status.st_mtime_ns, status.st_size, status.st_ino)
        if signature == self._signature:
            return
        with self._lock:
            if signature == self._signature:
                return
            self._signature = signature
            try:
                tokens, _ = _read_tables(self._path)
                credentials = {digest: _credential(entry) for digest, entry in tokens.items()}
            except InvalidCommand as unreadable:
                # A broken hand edit must not lock the floor out (every scan refused) nor be the client's fault
                # (a 4xx): the tokens known before it stay valid until the file reads again, and it is reported.
                self.problem = unreadable.message
                log.error(
                    "token file unreadable, keeping the %d tokens known before: %s",
                    len(self._credentials),
                    unreadable.message,
                )
                return
            self._credentials = credentials
            self.problem = None


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


def _read_tables(path: Path) -> tuple[dict[str, dict[str, object]], dict[str, dict[str, object]]]:
    """The live tokens and the revoked ones, each by hash (a file written before revocation has no `revoked`)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, {}
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidCommand(f"{path}: token file is not valid JSON: {error}") from None
    except OSError as error:
        raise InvalidCommand(f"{path}: token file cannot be read: {error}") from None
    tokens = document.get("tokens") if isinstance(document, dict) else None
    if not isinstance(tokens, dict):
        raise InvalidCommand(f"{path}: token file must be an object with a 'tokens' table")
    revoked = document.get("revoked", {})
    if not isinstance(revoked, dict):
        raise InvalidCommand(f"{path}: the token file's 'revoked' must be a table")
    return _entries(tokens), _entries(revoked)


def _entries(table: dict[object, object]) -> dict[str, dict[str, object]]:
    return {str(digest): dict(entry) for digest, entry in table.items() if isinstance(entry, dict)}


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
