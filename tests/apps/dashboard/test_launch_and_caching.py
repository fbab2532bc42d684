"""How the dashboard is served, and how its answers follow the log."""

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from apps.dashboard.launch import ENTRYPOINT, dashboard_command, dashboard_environment
from core.routing import Scan
from ingest.service import ScanService
from ingest.tokens import issue_token
from projections.data_dir import DataDir
from projections.store import EventStore
from tests.apps.dashboard.conftest import OPERATOR, PLANNER, open_page


def test_the_dashboard_is_served_headless_on_localhost_only() -> None:
    command = dashboard_command(8642)

    assert command[1:4] == ["-m", "streamlit", "run"]
    assert Path(command[4]) == ENTRYPOINT
    assert ENTRYPOINT.is_file()
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.address"] == "127.0.0.1"
    assert options["--server.port"] == "8642"
    assert options["--server.headless"] == "true"


def test_the_data_directory_reaches_the_app_through_cardtrace_data(tmp_path: Path) -> None:
    environment = dashboard_environment(DataDir(root=tmp_path / "plant"))

    assert environment["CARDTRACE_DATA"] == str((tmp_path / "plant").resolve())


def test_an_event_appended_to_the_log_shows_on_the_next_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = DataDir(root=tmp_path / "data")
    monkeypatch.setenv("CARDTRACE_DATA", str(data_dir.root))
    with EventStore(data_dir) as store:
        service = ScanService(store, data_dir.load_factory())
        service.create_job(product="base-18up", sets=1, customer="Apex", due_date="2026-12-01", actor=PLANNER)
        app = open_page(issue_token(data_dir, "planner"), "traceability")
        app.text_input(key="trace_query").input("J1001-S001").run()
        assert {metric.label: metric.value for metric in app.metric}["Status"] == "created"

        service.submit_scan(
            Scan(
                scan_id="press-start",
                barcode="J1001-S001",
                station_id="PRESS-1",
                operator_id="OP-7",
                occurred_at=datetime.now(UTC),
            ),
            OPERATOR,
        )
        time.sleep(1.1)  # the log's position is looked up at most once a second
        app.run()

    shown = {metric.label: metric.value for metric in app.metric}
    assert (shown["Status"], shown["Station"]) == ("in_progress", "PRESS-1")
