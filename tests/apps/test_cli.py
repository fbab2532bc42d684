"""The `cardtrace` console script as a user runs it: a real process on a real data directory."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from projections.data_dir import DataDir
from scheduling.jobshop import jobshop_mapping

CARDTRACE = Path(sys.executable).with_name("cardtrace")
FT06 = Path(__file__).resolve().parents[2] / "benchmarks" / "instances" / "ft06"


def cardtrace(*arguments: str, data: Path | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["--data", str(data)] if data is not None else []
    return subprocess.run(
        [str(CARDTRACE), *prefix, *arguments], capture_output=True, text=True, timeout=300, check=False
    )


def test_help_names_every_contract_command() -> None:
    shown = cardtrace("--help")
    assert shown.returncode == 0
    for command in ("serve", "demo", "simulate", "schedule", "token", "apps", "rebuild", "compact"):
        assert command in shown.stdout


@pytest.mark.parametrize("days", ["0", "-1", "three"])
def test_simulate_refuses_a_nonsense_number_of_days_and_writes_nothing(tmp_path: Path, days: str) -> None:
    refused = cardtrace("simulate", "--days", days, data=tmp_path)
    assert refused.returncode != 0
    assert "--days" in refused.stderr
    assert not any(tmp_path.iterdir())


def test_an_unknown_role_is_refused_by_token_issue(tmp_path: Path) -> None:
    refused = cardtrace("token", "issue", "--role", "janitor", data=tmp_path)
    assert refused.returncode != 0
    assert "janitor" in refused.stderr


def test_tokens_are_listed_by_id_and_revoked_by_id_or_subject(tmp_path: Path) -> None:
    issued = [
        cardtrace("token", "issue", "--role", "operator", "--subject", who, data=tmp_path) for who in ("OP-1", "OP-2")
    ]
    assert [run.returncode for run in issued] == [0, 0]
    tokens = [run.stdout.splitlines()[-1] for run in issued]

    listed = cardtrace("token", "list", "--json", data=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["subject"] for row in rows] == ["OP-1", "OP-2"]
    assert not any(token in listed.stdout for token in tokens)
    table = cardtrace("token", "list", data=tmp_path)
    assert rows[0]["token_id"] in table.stdout
    assert "OP-2" in table.stdout

    revoked = cardtrace("token", "revoke", rows[0]["token_id"][:8], data=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    assert "OP-1" in revoked.stdout
    assert "revoked 1 token(s)" in revoked.stderr
    by_subject = cardtrace("token", "revoke", "--subject", "OP-2", data=tmp_path)
    assert by_subject.returncode == 0, by_subject.stderr

    assert json.loads(cardtrace("token", "list", "--json", data=tmp_path).stdout) == []
    everything = json.loads(cardtrace("token", "list", "--all", "--json", data=tmp_path).stdout)
    assert [(row["subject"], row["revoked_at"] is not None) for row in everything] == [("OP-1", True), ("OP-2", True)]


def test_revoking_an_unknown_token_fails_naming_it(tmp_path: Path) -> None:
    cardtrace("token", "issue", "--role", "planner", data=tmp_path)
    refused = cardtrace("token", "revoke", "0123456789ab", data=tmp_path)
    assert refused.returncode != 0
    assert "token id '0123456789ab' names no token issued by this plant" in refused.stderr
    assert len(json.loads(cardtrace("token", "list", "--json", data=tmp_path).stdout)) == 1


def test_a_short_simulation_leaves_a_log_that_rebuild_and_compact_work_on(tmp_path: Path) -> None:
    simulated = cardtrace("simulate", "--days", "0.25", "--seed", "3", data=tmp_path)
    assert simulated.returncode == 0, simulated.stderr
    assert (DataDir(root=tmp_path).read_models_dir / "manifest.json").exists()  # simulate refreshed them

    rebuilt = cardtrace("rebuild", data=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "card_units" in rebuilt.stdout

    compacted = cardtrace("compact", data=tmp_path)
    assert compacted.returncode == 0, compacted.stderr


def test_a_lost_journal_stops_the_service_until_it_is_recovered_from_the_lake(tmp_path: Path) -> None:
    assert cardtrace("simulate", "--days", "0.1", "--seed", "5", data=tmp_path).returncode == 0
    journal = DataDir(root=tmp_path).journal_path
    shutil.rmtree(journal.parent)  # the journal's disk died; the lake survived

    refused = cardtrace("serve", "--port", "9", data=tmp_path)
    assert refused.returncode == 2
    assert "the journal ends at sequence_num 0 but the lake" in refused.stderr
    assert "cardtrace recover-journal" in refused.stderr

    recovered = cardtrace("recover-journal", data=tmp_path)
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.startswith("recovered events 1..")
    assert journal.exists()
    again = cardtrace("recover-journal", data=tmp_path)
    assert again.returncode == 0
    assert "nothing to recover" in again.stderr
    assert cardtrace("rebuild", data=tmp_path).returncode == 0


def test_a_journal_backed_up_then_lost_is_put_back_and_brought_up_to_the_lake(tmp_path: Path) -> None:
    plant, copy = tmp_path / "plant", tmp_path / "journal-copy.sqlite3"
    assert cardtrace("simulate", "--days", "0.05", "--seed", "5", data=plant).returncode == 0
    backed_up = cardtrace("backup-journal", str(copy), data=plant)
    assert backed_up.returncode == 0, backed_up.stderr
    assert backed_up.stdout.startswith("backed up events 1..")
    refused = cardtrace("backup-journal", str(copy), data=plant)
    assert refused.returncode == 2
    assert "never overwrites" in refused.stderr
    assert cardtrace("simulate", "--days", "0.05", "--seed", "5", data=plant).returncode == 0  # the plant goes on
    shutil.rmtree(DataDir(root=plant).journal_path.parent)  # then the journal's disk dies

    restored = cardtrace("restore-journal", str(copy), data=plant)
    assert restored.returncode == 0, restored.stderr
    assert f"restored the journal from {copy}" in restored.stderr
    assert restored.stdout.startswith("recovered events ")  # what was sealed after the backup
    assert cardtrace("rebuild", data=plant).returncode == 0


def test_schedule_prints_a_verified_schedule_as_json(tmp_path: Path) -> None:
    problem = tmp_path / "ft06.json"
    problem.write_text(json.dumps(jobshop_mapping(FT06.read_text(encoding="utf-8"))), encoding="utf-8")
    solved = cardtrace("schedule", "--problem", str(problem), "--time-limit", "10")
    assert solved.returncode == 0, solved.stderr
    answer = json.loads(solved.stdout)
    assert answer["makespan"] == 55


def test_schedule_names_a_missing_problem_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    refused = cardtrace("schedule", "--problem", str(missing))
    assert refused.returncode != 0
    assert "nowhere.json" in refused.stderr
