"""Time travel on a small, hand-made day: a QA bench's scanner was offline, so its scans arrive hours late.

Given a card that passed QA at 10:00 but whose scan was only recorded at 14:00, the card is `qa_passed` as of
11:00 (occurred time, as known now), was not known to have passed at 12:00 (recorded time), and at both
bounds together it is still waiting for QA. A sequence bound cuts the log in its own order.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from core.commands import Actor, CreateJob
from core.envelope import EventContext, RecordedEvent
from core.plant import Plant, execute
from core.reference import Cut
from core.routing import Scan, interpret_scan
from projections.engine import connect, define_views, views_for
from tests.integration.projections import expected
from tests.integration.projections.streams import SMALL_FACTORY, to_arrow

DAY = datetime(2026, 3, 3, tzinfo=UTC)
OPERATOR = Actor(subject="OP-7", role="operator")


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


class Day:
    def __init__(self) -> None:
        self.plant = Plant(factory=SMALL_FACTORY)
        self.events: list[RecordedEvent] = []
        self.scans = 0

    def record(self, command: Any, recorded_at: datetime) -> None:
        self.plant, events = execute(self.plant, command, recorded_at)
        self.events.extend(events)

    def scan(self, barcode: str, station: str, occurred: datetime, recorded: datetime, **fields: Any) -> None:
        self.scans += 1
        scan = Scan(
            scan_id=f"s{self.scans}",
            barcode=barcode,
            station_id=station,
            operator_id="OP-7",
            occurred_at=occurred,
            **fields,
        )
        self.record(interpret_scan(scan, OPERATOR, self.plant, SMALL_FACTORY), recorded)


@pytest.fixture
def day(tmp_path: Path) -> tuple[Day, Path]:
    """One mini-3up sheet pressed and cut by 09:00; card 01 passes QA at 10:00, recorded at 14:00."""
    floor = Day()
    floor.record(
        CreateJob(
            context=EventContext(occurred_at=at(6)),
            actor=Actor(subject="planner-pat", role="planner"),
            job_id="J2001",
            product_id="mini-3up",
            sets=1,
            customer="Acme Cards",
            due_date="2026-04-01",
        ),
        at(6),
    )
    for minute, station in ((0, "PRESS-1"), (30, "PRESS-1"), (45, "CUT-1")):
        floor.scan("J2001-S001", station, at(8, minute), at(8, minute))
    floor.scan("J2001-S001", "CUT-1", at(9), at(9))
    floor.scan("J2001-S001-02", "QA-BENCH-2", at(9, 30), at(9, 30), result="PASS")
    floor.scan("J2001-S001-01", "QA-BENCH-1", at(10), at(14), result="PASS")  # buffered offline until 14:00
    path = tmp_path / "events.parquet"
    pq.write_table(to_arrow(floor.events), path)
    return floor, path


def card_state(path: Path, card: str, cut: Cut) -> dict[str, Any] | None:
    query = f"SELECT * FROM card_units WHERE card_unit_id = '{card}'"
    with connect() as connection:
        define_views(connection, f"read_parquet('{path}')", SMALL_FACTORY, cut, only=views_for(query))
        relation = connection.sql(query)
        rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    return rows[0] if rows else None


def status(path: Path, card: str, cut: Cut) -> str | None:
    state = card_state(path, card, cut)
    return None if state is None else str(state["status"])


def test_a_late_scan_is_true_as_of_when_it_occurred_as_known_now(day: tuple[Day, Path]) -> None:
    _, path = day
    assert status(path, "J2001-S001-01", Cut(as_of=at(11))) == "qa_passed"


def test_a_late_scan_was_not_known_before_it_was_recorded(day: tuple[Day, Path]) -> None:
    _, path = day
    assert status(path, "J2001-S001-01", Cut(known_at=at(12))) == "created"
    assert status(path, "J2001-S001-02", Cut(known_at=at(12))) == "qa_passed"


def test_both_bounds_together_show_what_was_believed_then_about_that_moment(day: tuple[Day, Path]) -> None:
    _, path = day
    assert status(path, "J2001-S001-01", Cut(as_of=at(11), known_at=at(12))) == "created"
    assert status(path, "J2001-S001-01", Cut(as_of=at(11), known_at=at(15))) == "qa_passed"


def test_a_card_does_not_exist_before_its_sheet_was_cut(day: tuple[Day, Path]) -> None:
    _, path = day
    assert card_state(path, "J2001-S001-01", Cut(as_of=at(8, 50))) is None


def test_a_sequence_bound_cuts_the_log_in_its_own_order(day: tuple[Day, Path]) -> None:
    floor, path = day
    before_late_scan = max(e.sequence_num for e in floor.events if e.recorded_at < at(14))
    assert status(path, "J2001-S001-01", Cut(up_to_sequence=before_late_scan)) == "created"
    assert status(path, "J2001-S001-01", Cut(up_to_sequence=before_late_scan + 2)) == "qa_passed"


def test_every_cut_of_the_day_agrees_with_the_reference(day: tuple[Day, Path]) -> None:
    floor, path = day
    for cut in (Cut(as_of=at(11)), Cut(known_at=at(12)), Cut(as_of=at(9, 45), known_at=at(14)), Cut()):
        want = expected.card_units(floor.events, cut)
        got = {}
        for card in want:
            state = card_state(path, card, cut)
            assert state is not None
            got[card] = {name: state[name] for name in want[card]}
        assert got == want
