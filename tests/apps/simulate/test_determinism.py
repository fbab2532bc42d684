"""A seed reproduces the plant: the same event log (apart from recorded_at) and the same ground truth."""

from pathlib import Path

from apps.simulate.runner import read_state
from core.envelope import RecordedEvent
from core.events import to_payload
from tests.apps.simulate.conftest import LIGHT, run


def fingerprint(event: RecordedEvent) -> tuple[object, ...]:
    return (
        event.sequence_num,
        event.event_type,
        event.aggregate_type,
        event.aggregate_id,
        event.aggregate_version,
        to_payload(event.event),
        event.occurred_at,
        event.job_id,
        event.sheet_id,
        event.card_unit_id,
        event.station_id,
        event.operator_id,
        event.scan_id,
    )


def test_the_same_seed_gives_the_same_event_log_and_the_same_truth(tmp_path: Path) -> None:
    first = run(tmp_path / "first", days=0.5, seed=5, scenario=LIGHT)
    second = run(tmp_path / "second", days=0.5, seed=5, scenario=LIGHT)
    assert len(first.log) > 5_000
    assert [fingerprint(e) for e in first.log] == [fingerprint(e) for e in second.log]
    assert first.truth == second.truth


def test_another_seed_gives_another_plant(tmp_path: Path) -> None:
    first = run(tmp_path / "first", days=0.1, seed=5, scenario=LIGHT)
    other = run(tmp_path / "other", days=0.1, seed=6, scenario=LIGHT)
    assert [fingerprint(e) for e in first.log] != [fingerprint(e) for e in other.log]


def test_a_second_run_in_the_same_directory_continues_the_clock_and_the_memorabilia_numbering(tmp_path: Path) -> None:
    first = run(tmp_path / "data", days=0.1, seed=5, scenario=LIGHT)
    state = read_state(first.data)
    assert state is not None
    assert state.simulated_until == first.summary.end
    second = run(tmp_path / "data", days=0.1, seed=5, scenario=LIGHT)
    assert second.summary.refused_scans + second.summary.refused_commands == 0, second.summary.refusal_samples
    assert second.summary.start == first.summary.end
    assert len(second.log) == len(first.log) + second.summary.events
