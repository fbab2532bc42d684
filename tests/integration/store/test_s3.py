"""The lake at an s3:// URI, against moto's S3 server on 127.0.0.1 (no traffic leaves the machine)."""

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from projections.data_dir import DataDir
from projections.lake.table import LakeTable, storage_options_for
from projections.store import EventStore, JournalBehindLake, LakeCorrupted
from projections.store.recovery import recover_journal
from tests.integration.store.conftest import press_scan, wait_for

pytest.importorskip("moto.server", reason="moto[server] is not installed, so there is no local S3 to test against")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed, so the test bucket cannot be created")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: "subprocess.Popen[bytes]", what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"{what} did not start listening on 127.0.0.1:{port}")
            time.sleep(0.05)


class _MotoServer:
    """moto's S3 server on one port of 127.0.0.1, which a test may stop and start again (it keeps nothing)."""

    def __init__(self, log_path: Path) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log_path.open("a") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=log
            )
        _wait_until_listening(self.port, self._process, f"moto's S3 server (see {self._log_path})")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


class _Link:
    """The network between the store and object storage: a relay process (`tcp_relay`) that a test can cut
    and mend, with the server (and what it stores) still there behind it."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def mend(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.store.tcp_relay", str(self.port), str(self._target)],
            cwd=Path(__file__).resolve().parents[3],
        )
        _wait_until_listening(self.port, self._process, "the relay")

    def cut(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def moto_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_MotoServer]:
    server = _MotoServer(tmp_path / "moto.log")
    server.start()
    try:
        for name, value in {
            "AWS_ENDPOINT_URL": server.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            monkeypatch.setenv(name, value)
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_endpoint(moto_server: _MotoServer) -> str:
    return moto_server.endpoint


def test_events_seal_into_an_s3_lake_and_read_back_with_plain_engines(tmp_path: Path, s3_endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="cardtrace")
    uri = "s3://cardtrace/lake/events"
    data_dir = DataDir(root=tmp_path / "data", lake_uri_override=uri)
    options = storage_options_for(uri)
    assert options is not None
    assert options["AWS_ALLOW_HTTP"] == "true"

    with EventStore(data_dir, start_sealer=False) as store:
        for number in range(1, 6):
            store.append(press_scan(f"J1044-S{number:03d}", f"scan-{number}"))
        assert store.seal_now() == 5
        journal = store.read_arrow(0)

    lake = DeltaTable(uri, storage_options=options)
    assert lake.metadata().configuration["delta.appendOnly"] == "true"
    assert lake.to_pyarrow_table().sort_by("sequence_num").equals(journal)
    assert pl.read_delta(uri, storage_options=options).height == 5
    assert LakeTable(uri, options).verify().rows == 5

    client.put_object(Bucket="cardtrace", Key="lake/events/stray.csv", Body=b"a,b\n")
    with pytest.raises(LakeCorrupted, match=r"stray\.csv"):
        LakeTable(uri, options).verify()


def test_a_journal_lost_beside_an_s3_lake_is_recovered_from_it(tmp_path: Path, s3_endpoint: str) -> None:
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="cardtrace")
    data_dir = DataDir(root=tmp_path / "data", lake_uri_override="s3://cardtrace/lake/events")
    with EventStore(data_dir, start_sealer=False) as store:
        for number in range(1, 6):
            store.append(press_scan(f"J1044-S{number:03d}", f"scan-{number}"))
        store.seal_now()
        journal = store.read_arrow(0)
    shutil.rmtree(data_dir.journal_path.parent)  # the machine's disk died; the bucket did not

    with pytest.raises(JournalBehindLake):
        EventStore(data_dir, start_sealer=False)
    assert recover_journal(data_dir).events_copied == 5
    with EventStore(data_dir, start_sealer=False) as store:
        assert store.read_arrow(0).equals(journal)
        assert store.append(press_scan("J1044-S006", "scan-6")).events[0].sequence_num == 6


def test_sealing_resumes_once_object_storage_that_was_away_at_start_is_back(
    tmp_path: Path, moto_server: _MotoServer
) -> None:
    boto3.client("s3", endpoint_url=moto_server.endpoint).create_bucket(Bucket="cardtrace")
    data_dir = DataDir(root=tmp_path / "data", lake_uri_override="s3://cardtrace/lake/events")
    with EventStore(data_dir, start_sealer=False) as store:
        for number in range(1, 4):
            store.append(press_scan(f"J1044-S{number:03d}", f"scan-{number}"))
        store.seal_now()
    moto_server.stop()  # object storage away while the service starts (and it comes back empty: moto keeps nothing)

    with EventStore(data_dir, lake_retry_s=0.2, seal_interval_s=0.1) as store:
        assert "cannot be read" in str(store.lake_problem)
        assert store.append(press_scan("J1044-S004", "scan-4")).events[0].sequence_num == 4
        moto_server.start()
        boto3.client("s3", endpoint_url=moto_server.endpoint).create_bucket(Bucket="cardtrace")

        wait_for(lambda: store.lake_problem is None and store.health()["sealed_sequence"] == 4, 60, store.health)
        journal = store.read_arrow(0)
    lake = DeltaTable("s3://cardtrace/lake/events", storage_options=storage_options_for("s3://cardtrace/lake/events"))
    assert lake.to_pyarrow_table().sort_by("sequence_num").equals(journal)  # sealed again from the journal, whole


def test_sealing_resumes_from_the_lakes_mark_once_the_link_to_object_storage_is_back(
    tmp_path: Path, moto_server: _MotoServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    link = _Link(moto_server.port)
    link.mend()
    request.addfinalizer(link.cut)
    monkeypatch.setenv("AWS_ENDPOINT_URL", link.endpoint)
    monkeypatch.setenv("CARDTRACE_S3_RETRY_TIMEOUT", "2s")
    boto3.client("s3", endpoint_url=link.endpoint).create_bucket(Bucket="cardtrace")
    uri = "s3://cardtrace/lake/events"
    data_dir = DataDir(root=tmp_path / "data", lake_uri_override=uri)
    with EventStore(data_dir, start_sealer=False) as store:
        for number in range(1, 4):
            store.append(press_scan(f"J1044-S{number:03d}", f"scan-{number}"))
        store.seal_now()
    link.cut()  # the network to object storage is down while the service starts; the bucket keeps the lake

    with EventStore(data_dir, lake_retry_s=0.2, seal_interval_s=0.1) as store:
        assert "cannot be read" in str(store.lake_problem)
        for number in range(4, 6):
            store.append(press_scan(f"J1044-S{number:03d}", f"scan-{number}"))
        link.mend()

        wait_for(lambda: store.lake_problem is None and store.health()["sealed_sequence"] == 5, 60, store.health)
        journal = store.read_arrow(0)
    lake = DeltaTable(uri, storage_options=storage_options_for(uri))
    assert lake.to_pyarrow_table().sort_by("sequence_num").equals(journal)  # 1..5, each once
    assert len(lake.history()) == 3  # created, sealed 1..3 before the outage, 4..5 after: nothing sealed again


def test_storage_that_never_answers_does_not_hold_up_acknowledgements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    for name, value in {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "CARDTRACE_S3_TIMEOUT": "1s",
        "CARDTRACE_S3_RETRY_TIMEOUT": "1s",
    }.items():
        monkeypatch.setenv(name, value)
    with EventStore(DataDir(root=tmp_path / "data"), start_sealer=False) as store:  # a journal with events
        store.append(press_scan("J1044-S001", "scan-1"))
    data_dir = DataDir(root=tmp_path / "data", lake_uri_override="s3://cardtrace/lake/events")

    try:
        with EventStore(data_dir, lake_retry_s=0.05) as store:
            assert "cannot be read" in str(store.lake_problem)
            slowest = 0.0
            for number in range(2, 40):  # while the watcher keeps asking the silent storage
                began = time.monotonic()
                store.append(press_scan(f"J1044-S{number:03d}", f"scan-{number}"))
                slowest = max(slowest, time.monotonic() - began)
                time.sleep(0.05)
            assert slowest < 0.5
            wait_for(lambda: "does not answer" in str(store.lake_problem), 15, lambda: store.lake_problem)
    finally:
        silent.close()
