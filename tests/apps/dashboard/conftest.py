"""A fixture plant with known content, written through the real write path (scan service -> event store -> lake).

The story, on Monday 2 November 2026 from 06:00 UTC, one scan every 20 seconds of the scanner's clock; the store
records each scan 10 seconds after it happened, except the late batch of phase 2:

Phase 1 (recorded before 08:00):
- J1001 (base-18up, 2 sets, due 2026-11-20, Apex Collectibles) and J1002 (numbered-9up, 1 set, due 2026-11-06,
  Hoopline Cards).
- J1001-S001 pressed on PRESS-1, foiled on FOIL-1 (over ten minutes: more than twice the foil's standard), cut on
  CUT-1 into 18 cards at `cut_at`.
- Its cards pass QA at QA-BENCH-1, except 05 (fails at QA-BENCH-3 by OP-13 at 06:13:40 and again after a minute's
  rework, is voided by a manager and replaced by J1001-S001-05-R1, which passes at QA-BENCH-2) and 07 (fails once
  at QA-BENCH-3, then passes at QA-BENCH-1).
- The set A-J1001-S001 is gathered at ASSEMBLY-1 (17 originals and the replacement) and packed into J1001-P0001 at
  PACK-1 under a manager's override.
- J1001-S002 is started on PRESS-2.
- J1002-S001 pressed, UV-coated and cut into 9 cards; all numbered at SERIAL-1; cards 01..03 get memorabilia
  M-000101..M-000103 at MEMO-1 and pass QA at QA-BENCH-2.

Phase 2 (happened right after, recorded only at `late_sync_at`, 09:00, when the floor's offline scanners synced):
- J1001-S002 completes its press (over ten minutes after it started) and starts foil on FOIL-1.
- J1002-S001-01 and -02 are gathered at ASSEMBLY-1, opening A-J1002-S001 at `set_opened_at`: positions 3..9
  stay absent, past the 240-minute timeout from `set_opened_at + 4 h`.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import projections.store.event_store as event_store_module
from core.commands import Actor
from core.routing import Scan
from ingest.service import ScanOutcome, ScanService
from ingest.tokens import issue_token
from projections.data_dir import DataDir
from projections.store import EventStore

ENTRYPOINT = Path(__file__).resolve().parents[3] / "apps" / "dashboard" / "streamlit_app.py"
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
TICK = timedelta(seconds=20)
RECORDING_DELAY = timedelta(seconds=10)
LATE_SYNC_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OPERATOR = Actor(subject="OP-7", role="operator")
MANAGER = Actor(subject="MGR-1", role="manager")
PLANNER = Actor(subject="PLN-1", role="planner")


@dataclass
class RecordingClock:
    """The store's clock during the build: `recorded_at` is part of the known content, so it is set, not read."""

    moment: datetime = START

    def as_datetime_class(self) -> type[datetime]:
        clock = self

        class StoreClock(datetime):
            @classmethod
            def now(cls, tz: tzinfo | None = None) -> "StoreClock":
                moment = clock.moment if tz is None else clock.moment.astimezone(tz)
                return cls.fromtimestamp(moment.timestamp(), tz)

        return StoreClock


@dataclass
class ScanDesk:
    """Scans as a scanner makes them: a fresh scan_id and the scanner's clock, one tick per scan."""

    service: ScanService | None = None
    recorder: RecordingClock = field(default_factory=RecordingClock)
    clock: datetime = START
    late: bool = False  # scans held by an offline scanner, recorded at the late sync
    issued: int = 0

    def scan(self, barcode: str, station: str, operator: str = "OP-7", **fields: object) -> ScanOutcome:
        assert self.service is not None
        self.issued += 1
        self.clock += TICK
        if not self.late:
            self.recorder.moment = self.clock + RECORDING_DELAY
        scan = Scan(
            scan_id=f"fixture-{self.issued:05d}",
            barcode=barcode,
            station_id=station,
            operator_id=operator,
            occurred_at=self.clock,
            **fields,  # type: ignore[arg-type]
        )
        actor = MANAGER if "override_reason" in fields else OPERATOR
        return self.service.submit_scan(scan, actor)

    def twice(self, barcode: str, station: str) -> None:
        self.scan(barcode, station)
        self.scan(barcode, station)

    def office(self) -> None:
        """An office command happens a tick after the last scan and is recorded with it."""
        self.clock += TICK
        self.recorder.moment = self.clock + RECORDING_DELAY


@dataclass(frozen=True)
class FixturePlant:
    data_dir: DataDir
    planner_token: str
    analyst_token: str
    manager_token: str
    operator_token: str
    cut_at: datetime  # when J1001-S001 was cut into its cards
    set_opened_at: datetime  # when A-J1002-S001 was opened by its first card (recorded only at the late sync)
    late_sync_at: datetime  # when phase 2 was recorded
    built_before: datetime  # a moment before anything was recorded


def build_fixture_plant(root: Path) -> FixturePlant:
    data_dir = DataDir(root=root)
    desk = ScanDesk()
    with pytest.MonkeyPatch.context() as patch:
        # The event store takes recorded_at from its own clock and offers none to inject; the build sets it so that
        # "as known at" has known answers (to the minute, the time-travel control's resolution).
        patch.setattr(event_store_module, "datetime", desk.recorder.as_datetime_class())
        with EventStore(data_dir) as store:
            desk.service = service = ScanService(store, data_dir.load_factory(), clock=lambda: desk.clock)
            base = service.create_job(
                product="base-18up", sets=2, customer="Apex Collectibles", due_date="2026-11-20", actor=PLANNER
            ).job_id
            numbered = service.create_job(
                product="numbered-9up", sets=1, customer="Hoopline Cards", due_date="2026-11-06", actor=PLANNER
            ).job_id
            assert (base, numbered) == ("J1001", "J1002")

            desk.twice("J1001-S001", "PRESS-1")
            desk.scan("J1001-S001", "FOIL-1")
            desk.clock += timedelta(minutes=10)
            desk.scan("J1001-S001", "FOIL-1")
            desk.twice("J1001-S001", "CUT-1")
            cut_at = desk.clock
            ink_spot = {"result": "FAIL", "failure_codes": ("INK-SPOT",), "failure_reason": "ink spot on the face"}
            for position in range(1, 19):
                card = f"J1001-S001-{position:02d}"
                if position in (5, 7):
                    desk.scan(card, "QA-BENCH-3", operator="OP-13", **ink_spot)
                if position == 5:
                    desk.clock += timedelta(minutes=1)  # reworked, then inspected again
                    desk.scan(card, "QA-BENCH-3", operator="OP-13", **ink_spot)
                else:
                    desk.scan(card, "QA-BENCH-1", result="PASS")
            desk.office()
            service.void_card_unit("J1001-S001-05", reason="failed QA twice: ink spot", actor=MANAGER)
            desk.office()
            replacement = service.create_replacement("J1001-S001-05", actor=PLANNER).replacement_id
            assert replacement == "J1001-S001-05-R1"
            desk.scan(replacement, "QA-BENCH-2", operator="OP-21", result="PASS")
            for card in [f"J1001-S001-{p:02d}" for p in range(1, 19) if p != 5] + [replacement]:
                desk.scan(card, "ASSEMBLY-1", assembly_id="A-J1001-S001")
            desk.scan("A-J1001-S001", "PACK-1", override_reason="position 05 is the replacement R1")
            desk.scan("J1001-S002", "PRESS-2")

            desk.twice("J1002-S001", "PRESS-1")
            desk.twice("J1002-S001", "UV-1")
            desk.twice("J1002-S001", "CUT-1")
            for position in range(1, 10):
                desk.twice(f"J1002-S001-{position:02d}", "SERIAL-1")
            for position in range(1, 4):
                card = f"J1002-S001-{position:02d}"
                desk.scan(card, "MEMO-1", memorabilia_id=f"M-{100 + position:06d}")
                desk.scan(card, "QA-BENCH-2", operator="OP-21", result="PASS")

            desk.late = True
            desk.recorder.moment = LATE_SYNC_AT
            desk.clock += timedelta(minutes=8)
            desk.scan("J1001-S002", "PRESS-2")
            desk.scan("J1001-S002", "FOIL-1")
            desk.scan("J1002-S001-01", "ASSEMBLY-1")
            set_opened_at = desk.clock
            desk.scan("J1002-S001-02", "ASSEMBLY-1")
            store.seal_now()

    return FixturePlant(
        data_dir=data_dir,
        planner_token=issue_token(data_dir, "planner", subject="Pat Planner"),
        analyst_token=issue_token(data_dir, "analyst", subject="Ana Analyst"),
        manager_token=issue_token(data_dir, "manager", subject="Max Manager"),
        operator_token=issue_token(data_dir, "operator", subject="OP-7"),
        cut_at=cut_at,
        set_opened_at=set_opened_at,
        late_sync_at=LATE_SYNC_AT,
        built_before=START,
    )


@pytest.fixture(scope="session")
def fixture_plant(tmp_path_factory: pytest.TempPathFactory) -> FixturePlant:
    return build_fixture_plant(tmp_path_factory.mktemp("dashboard") / "data")


@pytest.fixture
def plant(fixture_plant: FixturePlant, monkeypatch: pytest.MonkeyPatch) -> FixturePlant:
    """The app reads its data directory from CARDTRACE_DATA, as when `cardtrace apps` starts it."""
    monkeypatch.setenv("CARDTRACE_DATA", str(fixture_plant.data_dir.root))
    monkeypatch.delenv("CARDTRACE_LAKE_URI", raising=False)
    return fixture_plant


def sign_in(
    token: str, page: str = "capacity", *, as_of: datetime | None = None, known_at: datetime | None = None
) -> AppTest:
    """The app at `page` after the token gate let `token` in (the gate itself is tested in test_access)."""
    app = AppTest.from_file(str(ENTRYPOINT), default_timeout=120)
    app.switch_page(f"app_pages/{page}.py")  # the page the browser asked for; shown once the gate opens
    if as_of is not None or known_at is not None:
        app.session_state["time_travel"] = True
        app.session_state["as_of"] = _shown(as_of or datetime.now(UTC))
        app.session_state["known_at"] = _shown(known_at or datetime.now(UTC))
    app.run()
    app.text_input(key="token_entry").input(token)
    app.get("form_submit_button")[0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def open_page(token: str, page: str, *, as_of: datetime | None = None, known_at: datetime | None = None) -> AppTest:
    """One page of the signed-in app, optionally travelled to `as_of` / `known_at` (whole minutes, UTC)."""
    return sign_in(token, page, as_of=as_of, known_at=known_at)


def travel(app: AppTest, *, as_of: datetime | None = None, known_at: datetime | None = None) -> AppTest:
    """Switch the sidebar's time travel on and set its moments, as a viewer does."""
    app.toggle(key="time_travel").set_value(True).run()
    if as_of is not None:
        app.datetime_input(key="as_of").set_value(_shown(as_of))
    if known_at is not None:
        app.datetime_input(key="known_at").set_value(_shown(known_at))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _shown(moment: datetime) -> datetime:
    """The control shows UTC without a zone, to the minute."""
    return moment.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
