"""Bearer tokens: issued once, stored only as hashes, owner-readable, verified by the server's token book."""

import json
import stat
import threading
import time

import pytest

from core.errors import InvalidCommand, InvalidId, NotAuthorized
from ingest.auth import GRANTS, require
from ingest.tokens import REFRESH_SECONDS, TokenBook, issue_token, list_tokens, revoke_tokens, token_digest
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


# --- listing and revoking ----------------------------------------------------------------------------------


def test_the_list_names_each_token_by_its_id_and_never_shows_the_token(data_dir: DataDir) -> None:
    first = issue_token(data_dir, "operator", subject="OP-42", station="QA-BENCH-3")
    second = issue_token(data_dir, "planner", subject="PLN-1")
    listed = list_tokens(data_dir)
    assert [(t.subject, t.role, t.station) for t in listed] == [
        ("OP-42", "operator", "QA-BENCH-3"),
        ("PLN-1", "planner", None),
    ]
    assert [t.token_id for t in listed] == [token_digest(first)[:12], token_digest(second)[:12]]
    assert all(t.revoked_at is None for t in listed)
    assert first not in repr(listed)
    assert second not in repr(listed)


def test_a_revoked_token_stops_working_and_stays_on_record(data_dir: DataDir) -> None:
    kept = issue_token(data_dir, "analyst", subject="AN-1")
    lost = issue_token(data_dir, "operator", subject="OP-9")
    book = TokenBook(data_dir)
    assert book.credential(lost) is not None

    revoked = revoke_tokens(data_dir, [token_digest(lost)[:8]])

    assert [t.subject for t in revoked] == ["OP-9"]
    assert revoked[0].revoked_at is not None
    assert TokenBook(data_dir).credential(lost) is None  # a book reading the file now
    time.sleep(REFRESH_SECONDS + 0.1)
    assert book.credential(lost) is None  # a running server's book, once it looked again
    assert book.credential(kept) is not None
    assert [t.subject for t in list_tokens(data_dir)] == ["AN-1"]
    assert [(t.subject, t.revoked_at is not None) for t in list_tokens(data_dir, include_revoked=True)] == [
        ("AN-1", False),
        ("OP-9", True),
    ]


def test_a_token_may_be_revoked_by_itself_or_by_whoever_holds_it(data_dir: DataDir) -> None:
    by_token = issue_token(data_dir, "operator", subject="OP-1")
    held = [issue_token(data_dir, "operator", subject="OP-2") for _ in range(2)]
    other = issue_token(data_dir, "operator", subject="OP-3")

    assert [t.subject for t in revoke_tokens(data_dir, [by_token])] == ["OP-1"]
    assert [t.subject for t in revoke_tokens(data_dir, subject="OP-2")] == ["OP-2", "OP-2"]

    book = TokenBook(data_dir)
    assert [book.credential(token) for token in (by_token, *held)] == [None, None, None]
    assert book.credential(other) is not None


def test_issuing_after_a_revocation_keeps_the_record_of_it(data_dir: DataDir) -> None:
    revoke_tokens(data_dir, [issue_token(data_dir, "planner", subject="PLN-9")])
    issue_token(data_dir, "planner", subject="PLN-10")
    assert [(t.subject, t.revoked_at is None) for t in list_tokens(data_dir, include_revoked=True)] == [
        ("PLN-9", False),
        ("PLN-10", True),
    ]


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("abc", "at least 6 hex digits"),
        ("not-hex-at-all", "at least 6 hex digits"),
        ("ffffffffffff", "names no token issued by this plant"),
        ("ct_" + "x" * 43, "names no token issued by this plant"),
    ],
)
def test_a_reference_that_names_no_live_token_revokes_nothing(data_dir: DataDir, reference: str, problem: str) -> None:
    live = issue_token(data_dir, "operator", subject="OP-5")
    before = data_dir.tokens_path.read_bytes()
    with pytest.raises(InvalidCommand, match=problem):
        revoke_tokens(data_dir, [token_digest(live)[:12], reference])  # all or nothing: the good one stays too
    assert data_dir.tokens_path.read_bytes() == before
    assert TokenBook(data_dir).credential(live) is not None


def test_revoking_twice_or_nobody_says_so(data_dir: DataDir) -> None:
    token = issue_token(data_dir, "operator", subject="OP-6")
    revoke_tokens(data_dir, [token])
    with pytest.raises(InvalidCommand, match="already revoked at"):
        revoke_tokens(data_dir, [token_digest(token)[:12]])
    with pytest.raises(InvalidCommand, match="no live token is held by subject 'OP-6'"):
        revoke_tokens(data_dir, subject="OP-6")
    with pytest.raises(InvalidCommand, match="name the tokens to revoke"):
        revoke_tokens(data_dir)


def test_an_id_prefix_that_names_two_tokens_asks_for_more(data_dir: DataDir) -> None:
    # Two real ids rarely share six hex digits, so the file is written with two hashes that do.
    entry = {"role": "operator", "subject": "OP-8", "station": None, "issued_at": "2026-11-02T06:00:00+00:00"}
    twins = ["abcdef01" + "0" * 56, "abcdef02" + "0" * 56]
    data_dir.tokens_path.parent.mkdir(parents=True, exist_ok=True)
    data_dir.tokens_path.write_text(json.dumps({"tokens": dict.fromkeys(twins, entry)}))

    with pytest.raises(InvalidCommand, match=r"names 2 tokens \(abcdef010000, abcdef020000\): give more of the id"):
        revoke_tokens(data_dir, ["abcdef"])
    assert [t.token_id for t in revoke_tokens(data_dir, ["abcdef02"])] == ["abcdef020000"]
    assert [t.token_id for t in list_tokens(data_dir)] == ["abcdef010000"]


def test_a_token_file_broken_by_hand_keeps_the_known_tokens_and_says_why(data_dir: DataDir) -> None:
    token = issue_token(data_dir, "operator", subject="OP-11")
    book = TokenBook(data_dir)
    assert book.credential(token) is not None
    good = data_dir.tokens_path.read_text()

    data_dir.tokens_path.write_text(good[: len(good) // 2])  # an editor saved half of it
    time.sleep(REFRESH_SECONDS + 0.1)

    held = book.credential(token)
    assert held is not None
    assert held.subject == "OP-11"
    assert book.problem is not None
    assert "token file is not valid JSON" in book.problem
    assert book.credential("ct_" + "y" * 43) is None
    assert TokenBook(data_dir).credential(token) is None  # a book that never read it knows no token
    with pytest.raises(InvalidCommand, match="not valid JSON"):
        issue_token(data_dir, "operator")  # nothing is written over a file that does not read

    data_dir.tokens_path.write_text(good)
    time.sleep(REFRESH_SECONDS + 0.1)
    assert book.credential(token) is not None
    assert book.problem is None


@pytest.mark.parametrize(
    ("broken", "problem"),
    [(b"\xff\xfe{\x00", "not valid JSON"), (b'{"tokens": {"abc": {"role": "janitor"}}}', "unknown role")],
)
def test_a_token_file_that_does_not_decode_is_reported_not_raised(
    data_dir: DataDir, broken: bytes, problem: str
) -> None:
    token = issue_token(data_dir, "planner", subject="PLN-3")
    book = TokenBook(data_dir)
    assert book.credential(token) is not None
    data_dir.tokens_path.write_bytes(broken)  # saved in another encoding, or a role mistyped
    time.sleep(REFRESH_SECONDS + 0.1)

    assert book.credential(token) is not None
    assert book.problem is not None
    assert problem in book.problem
