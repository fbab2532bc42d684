"""Bearer tokens: issued once, stored only as hashes, owner-readable, verified by the server's token book."""

import json
import stat
import threading

import pytest

from core.errors import InvalidCommand, InvalidId, NotAuthorized
from ingest.auth import GRANTS, require
from ingest.tokens import TokenBook, issue_token, token_digest
from projections.data_dir import DataDir


def test_a_token_is_stored_only_as_its_hash_in_an_owner_only_file(data_dir: DataDir) -> None:
    token = issue_token(data_dir, "manager", subject="MGR-7")
    text = data_dir.tokens_path.read_text()
    assert token not in text
    assert token_digest(token) in json.loads(text)["tokens"]
    assert stat.S_IMODE(data_dir.tokens_path.stat().st_mode) == 0o600


def test_the_token_book_knows_who_holds_a_token_and_nothing_else(data_dir: DataDir) -> None:
    bound = issue_token(data_dir, "operator", subject="OP-42", station="QA-BENCH-3")
    analyst = issue_token(data_dir, "analyst")
    book = TokenBook(data_dir)
    held = book.credential(bound)
    assert held is not None
    assert (held.role, held.subject, held.station) == ("operator", "OP-42", "QA-BENCH-3")
    reader = book.credential(analyst)
    assert reader is not None
    assert reader.role == "analyst"
    assert reader.subject.startswith("analyst-")
    assert book.credential("ct_" + "x" * 43) is None
    assert book.credential("") is None


def test_a_token_issued_while_the_server_runs_works_at_once(data_dir: DataDir) -> None:
    book = TokenBook(data_dir)
    assert book.credential(issue_token(data_dir, "planner")) is not None
    later = issue_token(data_dir, "analyst", subject="AN-2")
    held = book.credential(later)
    assert held is not None
    assert held.subject == "AN-2"


def test_tokens_issued_at_once_are_all_kept(data_dir: DataDir) -> None:
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(issue_token(data_dir, "operator"))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    book = TokenBook(data_dir)
    assert all(book.credential(token) is not None for token in tokens)
    assert len(json.loads(data_dir.tokens_path.read_text())["tokens"]) == 16


def test_an_unknown_role_or_a_malformed_station_is_refused(data_dir: DataDir) -> None:
    with pytest.raises(InvalidCommand, match="role"):
        issue_token(data_dir, "superuser")
    with pytest.raises(InvalidId, match="station"):
        issue_token(data_dir, "operator", station="qa bench 3")
    assert not data_dir.tokens_path.exists()


def test_only_a_manager_or_an_admin_may_override_and_void(data_dir: DataDir) -> None:
    book = TokenBook(data_dir)
    may = {role for role, granted in GRANTS.items() if {"override", "void"} <= granted}
    assert may == {"manager", "admin"}
    operator = book.credential(issue_token(data_dir, "operator"))
    assert operator is not None
    with pytest.raises(NotAuthorized, match="may not void"):
        require(operator, "void")
