"""Ingest HTTP benchmark: `cardtrace serve` under load from a second process on 127.0.0.1, against a baseline.

In one run, on a fresh data directory:
  1. baseline: a minimal FastAPI POST endpoint under the same uvicorn settings (uvloop, httptools, one worker);
  2. POST /scan at 32 concurrent keep-alive clients for a bounded duration over a realistic scan mix (sheets
     through press/foil/cut or press/uv/cut, every card through QA with ~10% failures and re-inspection,
     serial number and memorabilia for the numbered product, gathering with the tray label, packing);
  3. POST /scans with a 10,000-scan batch (an offline buffer: whole sheets, shuffled);
  4. read endpoints (card unit with history, sheet, assembly, job progress, station queue, events) at 8 concurrent
     clients, after the log has been grown to --log-events events (bulk-appended through the event store).
Prints throughput, p50/p99 and the ratios against the targets and the baseline.

    .venv/bin/python -m benchmarks.ingest_http                       # ~2 minutes
    .venv/bin/python -m benchmarks.ingest_http --duration 20 --log-events 10000000
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.progress import Progress

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

CLIENTS = 32
READ_CLIENTS = 8
BATCH = 10_000
TARGET_SCANS_PER_S = 2_000
TARGET_P99_MS = 50.0
TARGET_BASELINE_SHARE = 0.25
TARGET_BATCH_SCANS_PER_S = 50_000
TARGET_READ_P99_MS = 50.0

# --- the baseline: a minimal FastAPI endpoint ------------------------------------------------------------


def baseline_app() -> object:
    """The cheapest FastAPI can be: an async endpoint with a one-field pydantic body."""
    from fastapi import FastAPI
    from pydantic import create_model

    ping = create_model("Ping", scan_id=(str, ...))
    app = FastAPI()

    async def echo(body: ping) -> dict[str, str]:  # type: ignore[valid-type]
        return {"scan_id": body.scan_id}  # type: ignore[attr-defined]

    app.post("/ping")(echo)
    return app


def serve_baseline(port: int) -> None:
    import uvicorn

    uvicorn.run(
        baseline_app(),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        backlog=2048,
    )


# --- a lean HTTP/1.1 keep-alive client (the load generator must cost less than the server) -----------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader, self._writer, self._host = reader, writer, host

    @classmethod
    async def open(cls, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, f"127.0.0.1:{port}")

    async def request(
        self, method: str, path: str, body: bytes | None = None, token: str | None = None
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        payload = await self._reader.readexactly(length) if length else b""
        return status, payload

    def close(self) -> None:
        self._writer.close()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0

    def add(self, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def per_second(self) -> float:
        return len(self.latencies) / (self.ended - self.started) if self.ended > self.started else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if status < 300)


async def drive(
    port: int,
    clients: int,
    duration: float,
    work: Callable[[int], Iterator[tuple[str, str, bytes | None]]],
    token: str | None,
) -> Tally:
    """`clients` connections, each sending its own stream of requests back to back until `duration` is up."""
    tally = Tally()
    deadline = time.perf_counter() + duration

    async def client(number: int) -> None:
        connection = await Connection.open(port)
        try:
            for method, path, body in work(number):
                if time.perf_counter() >= deadline:
                    return
                sent = time.perf_counter()
                status, _ = await connection.request(method, path, body, token)
                tally.add(status, time.perf_counter() - sent)
        finally:
            connection.close()

    tally.started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    tally.ended = time.perf_counter()
    return tally


# --- the scan mix ---------------------------------------------------------------------------------------


@dataclass
class ScanWriter:
    """Scans the way the floor sends them: unique scan_id, the scanner's clock, station-specific fields."""

    prefix: str
    clock: datetime = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    issued: int = 0

    def scan(self, barcode: str, station: str, **fields: object) -> dict[str, object]:
        self.issued += 1
        self.clock += timedelta(seconds=2)
        return {
            "scan_id": f"{self.prefix}-{self.issued}",
            "barcode": barcode,
            "station_id": station,
            "operator_id": "OP-42",
            "occurred_at": self.clock.isoformat(),
            **fields,
        }


def sheet_scans(sheet: str, product: str, writer: ScanWriter, rng: random.Random) -> Iterator[dict[str, object]]:
    """One sheet from press to pack, as its scans happen on the floor."""
    numbered = product == "numbered-9up"
    press = rng.choice(("PRESS-1", "PRESS-2"))
    for station in (press, press, *(("UV-1", "UV-1") if numbered else ("FOIL-1", "FOIL-1")), "CUT-1", "CUT-1"):
        yield writer.scan(sheet, station)
    cards = [f"{sheet}-{position:02d}" for position in range(1, (9 if numbered else 18) + 1)]
    for position, card in enumerate(cards, start=1):
        if numbered:
            yield writer.scan(card, "SERIAL-1")
            yield writer.scan(card, "SERIAL-1")
            yield writer.scan(card, "MEMO-1", memorabilia_id=f"M-{abs(hash(card)) % 1_000_000:06d}")
        bench = f"QA-BENCH-{1 + position % 3}"
        if rng.random() < 0.1:
            yield writer.scan(card, bench, result="FAIL", failure_codes=["SMUDGE"])
        yield writer.scan(card, bench, result="PASS")
    for card in cards:
        yield writer.scan(card, "ASSEMBLY-1", assembly_id=f"A-{sheet}")
    yield writer.scan(f"A-{sheet}", "PACK-1")


# --- the run --------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live children (Linux; the service's sealer process
    is one): what a request costs the server, whatever else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = {
        int(child) for listing in Path(f"/proc/{pid}/task").glob("*/children") for child in listing.read_text().split()
    }
    return own + sum(_cpu_if_alive(child) for child in children)


def _cpu_if_alive(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except (FileNotFoundError, ProcessLookupError):  # it exited between the listing and the reading
        return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(port: int, path: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as probe:
                probe.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                if probe.recv(16)[9:12] in (b"200", b"405", b"422"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing healthy on port {port}{path} after {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=300)


HISTORY_SETS = 50  # sets per job in the grown log


def _packed_sheet(job: str, sheet: str, number: int, moment: datetime) -> Any:
    """The events of one base-18up sheet from press to pack, as the decisions would have emitted them."""
    from core.envelope import EventContext, PendingEvent
    from core.events import (
        AssemblyCompleted,
        AssemblyOpened,
        CardUnitCreated,
        CardUnitGathered,
        DomainEvent,
        OperationCompleted,
        OperationStarted,
        PackSealed,
        QAResultRecorded,
        SetPacked,
        SheetCut,
    )

    def at(station: str, offset: int) -> EventContext:
        return EventContext(occurred_at=moment + timedelta(seconds=offset), station_id=station, operator_id="OP-42")

    def event(kind: str, aggregate: str, body: DomainEvent, context: EventContext, card: str | None = None) -> Any:
        return PendingEvent(
            aggregate_type=kind,  # type: ignore[arg-type]
            aggregate_id=aggregate,
            event=body,
            context=context,
            job_id=job,
            sheet_id=sheet,
            card_unit_id=card,
        )

    cards = tuple(f"{sheet}-{p:02d}" for p in range(1, 19))
    tray, pack = f"A-{sheet}", f"{job}-P{number:04d}"
    flow = [
        event("sheet", sheet, OperationStarted(operation_id="press", station_id="PRESS-1"), at("PRESS-1", 0)),
        event("sheet", sheet, OperationCompleted(operation_id="press", station_id="PRESS-1"), at("PRESS-1", 90)),
        event("sheet", sheet, OperationStarted(operation_id="foil", station_id="FOIL-1"), at("FOIL-1", 100)),
        event("sheet", sheet, OperationCompleted(operation_id="foil", station_id="FOIL-1"), at("FOIL-1", 220)),
        event("sheet", sheet, OperationStarted(operation_id="cut", station_id="CUT-1"), at("CUT-1", 230)),
        event(
            "sheet",
            sheet,
            SheetCut(sheet_id=sheet, operation_id="cut", station_id="CUT-1", card_unit_ids=cards),
            at("CUT-1", 290),
        ),
    ]
    for position, card in enumerate(cards, start=1):
        born = CardUnitCreated(
            card_unit_id=card,
            sheet_id=sheet,
            job_id=job,
            position=position,
            product_id="base-18up",
            embellishments=("foil gold wave front",),
            serial_run_size=0,
        )
        bench = f"QA-BENCH-{1 + position % 3}"
        flow += [
            event("card_unit", card, born, at("CUT-1", 290), card),
            event("card_unit", card, OperationStarted(operation_id="qa", station_id=bench), at(bench, 300), card),
            event(
                "card_unit",
                card,
                QAResultRecorded(operation_id="qa", station_id=bench, result="PASS", attempt=1),
                at(bench, 300 + position),
                card,
            ),
        ]
    opened = AssemblyOpened(assembly_id=tray, sheet_id=sheet, job_id=job, expected_count=18, station_id="ASSEMBLY-1")
    flow.append(event("assembly", tray, opened, at("ASSEMBLY-1", 400)))
    flow += [
        event(
            "assembly",
            tray,
            CardUnitGathered(assembly_id=tray, card_unit_id=card, position=position, station_id="ASSEMBLY-1"),
            at("ASSEMBLY-1", 400 + position),
            card,
        )
        for position, card in enumerate(cards, start=1)
    ]
    flow += [
        event("assembly", tray, AssemblyCompleted(assembly_id=tray, card_unit_ids=cards), at("ASSEMBLY-1", 420)),
        event("assembly", tray, SetPacked(assembly_id=tray, pack_id=pack, station_id="PACK-1"), at("PACK-1", 480)),
        event(
            "pack",
            pack,
            PackSealed(pack_id=pack, assembly_id=tray, sheet_id=sheet, job_id=job, card_unit_ids=cards),
            at("PACK-1", 480),
        ),
    ]
    return tuple(flow)


def _packed_job(job: str, clock: datetime) -> list[Any]:
    """A base-18up job of `HISTORY_SETS` sheets, created and then each sheet pressed through to a packed set,
    as appends (the job and its sheets in one, then one per sheet)."""
    from core.envelope import EventContext, PendingEvent
    from core.events import JobCreated, SheetCreated
    from projections.store import Append

    sheets = tuple(f"{job}-S{k:03d}" for k in range(1, HISTORY_SETS + 1))
    office = EventContext(occurred_at=clock)
    created = JobCreated(
        job_id=job,
        product_id="base-18up",
        customer="History",
        due_date=(clock + timedelta(days=14)).date().isoformat(),
        sets=HISTORY_SETS,
        n_up=18,
        serialized=False,
        sheet_ids=sheets,
    )
    opening = [PendingEvent(aggregate_type="job", aggregate_id=job, event=created, context=office, job_id=job)]
    opening += [
        PendingEvent(
            aggregate_type="sheet",
            aggregate_id=sheet,
            event=SheetCreated(
                sheet_id=sheet, job_id=job, sheet_number=k, product_id="base-18up", n_up=18, run_size=HISTORY_SETS
            ),
            context=office,
            job_id=job,
            sheet_id=sheet,
        )
        for k, sheet in enumerate(sheets, start=1)
    ]
    appends = [Append(events=tuple(opening), expected_versions=dict.fromkeys((*sheets, job), 0))]
    for k, sheet in enumerate(sheets, start=1):
        flow = _packed_sheet(job, sheet, k, clock + timedelta(minutes=k))
        expected = {pending.aggregate_id: 0 for pending in flow}
        expected[sheet] = 1
        appends.append(Append(events=flow, expected_versions=expected))
    return appends


def grow_log(root: Path, events: int) -> tuple[int, list[str]]:
    """Bulk-append whole packed jobs through the event store (no HTTP, no decisions: the events are built as the
    decisions would emit them) until the log holds about `events` more; seal them and materialize the read
    models, as a plant that has run for a while would have. Returns (events in the log, the job ids added)."""
    if events <= 0:
        return 0, []
    from projections import materialize
    from projections.data_dir import DataDir
    from projections.store import EventStore

    data = DataDir(root=root)
    store = EventStore(data)
    clock = datetime(2025, 1, 6, 6, 0, tzinfo=UTC)
    target = store.last_sequence() + events
    queued = 0
    jobs: list[str] = []
    appends: list[Any] = []

    def flush() -> None:
        for answer in store.append_many(appends):
            if isinstance(answer, Exception):
                raise answer
        appends.clear()

    number = 9000  # far above the J numbers the load phases take
    with Progress() as growing:
        task = growing.add_task(f"growing the log by {events:,} events", total=target)
        growing.update(task, completed=store.last_sequence())
        while store.last_sequence() + queued < target:
            number += 1
            jobs.append(f"J{number}")
            clock += timedelta(minutes=HISTORY_SETS + 10)
            job_appends = _packed_job(jobs[-1], clock)
            appends.extend(job_appends)
            queued += sum(len(append.events) for append in job_appends)
            if len(appends) > 2_000:
                flush()
                queued = 0
                growing.update(task, completed=store.last_sequence())
        flush()
        growing.update(task, completed=store.last_sequence())
    print(f"  grown to {store.last_sequence():,} events; sealing them and materializing the read models", flush=True)
    store.seal_now()
    logged = store.last_sequence()
    store.close()
    materialize.rebuild(data)
    return logged, jobs


async def create_jobs(port: int, token: str, product: str, sets: int, count: int) -> list[str]:
    connection = await Connection.open(port)
    jobs = []
    try:
        for _ in range(count):
            body = json.dumps({"product": product, "sets": sets, "customer": "Bench", "due_date": "2026-12-31"})
            status, answer = await connection.request("POST", "/jobs", body.encode(), token)
            if status != 201:
                raise RuntimeError(f"POST /jobs answered {status}: {answer[:300]!r}")
            jobs.append(json.loads(answer)["job_id"])
    finally:
        connection.close()
    return jobs


def report(title: str, tally: Tally) -> None:
    print(
        f"{title:<34} {len(tally.latencies):>8} req  {tally.per_second:>9.0f} req/s  "
        f"p50 {tally.percentile_ms(0.50):6.2f} ms  p99 {tally.percentile_ms(0.99):6.2f} ms  statuses {tally.statuses}"
    )


def verdict(name: str, value: float, target: float, higher_is_better: bool = True) -> None:
    met = value >= target if higher_is_better else value <= target
    print(
        f"  {name:<52} {value:>12.2f}  target {'>=' if higher_is_better else '<='} {target:<10g} "
        + ("MET" if met else "MISSED")
    )


async def scan_phase(port: int, tokens: dict[str, str], duration: float) -> Tally:
    jobs_base = await create_jobs(port, tokens["planner"], "base-18up", 40, CLIENTS)
    jobs_numbered = await create_jobs(port, tokens["planner"], "numbered-9up", 20, CLIENTS // 4)

    def work(number: int) -> Iterator[tuple[str, str, bytes | None]]:
        rng = random.Random(number)
        writer = ScanWriter(prefix=f"load{number}")
        sheets = [(f"{jobs_base[number]}-S{s:03d}", "base-18up") for s in range(1, 41)]
        if number < len(jobs_numbered) * 4 and number % 4 == 0:
            sheets[::4] = [(f"{jobs_numbered[number // 4]}-S{s:03d}", "numbered-9up") for s in range(1, 11)]
        for sheet, product in sheets:
            for scan in sheet_scans(sheet, product, writer, rng):
                yield "POST", "/scan", json.dumps(scan).encode()

    return await drive(port, CLIENTS, duration, work, tokens["operator"])


async def batch_phase(port: int, tokens: dict[str, str]) -> tuple[float, int, dict[int, int]]:
    sheets_needed = BATCH // 43 + 2
    jobs = await create_jobs(port, tokens["planner"], "base-18up", 100, (sheets_needed + 99) // 100)
    rng = random.Random(99)
    writer = ScanWriter(prefix="batch")
    scans: list[dict[str, object]] = []
    for job in jobs:
        for number in range(1, 101):
            scans.extend(sheet_scans(f"{job}-S{number:03d}", "base-18up", writer, rng))
    scans = scans[:BATCH]
    rng.shuffle(scans)
    body = json.dumps({"scans": scans}).encode()
    connection = await Connection.open(port)
    try:
        started = time.perf_counter()
        status, answer = await connection.request("POST", "/scans", body, tokens["operator"])
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"POST /scans answered {status}: {answer[:300]!r}")
    statuses: dict[int, int] = {}
    for result in json.loads(answer)["results"]:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    return elapsed, len(scans), statuses


async def read_phase(
    port: int, token: str, duration: float, jobs: list[str], last: int, clients: int
) -> dict[str, Tally]:
    """Each read endpoint in turn at `clients` concurrent clients, on random entities of `jobs` (50 sets each)."""
    rng = random.Random(5)

    def sheet() -> str:
        return f"{rng.choice(jobs)}-S{rng.randint(1, 50):03d}"

    endpoints: dict[str, Callable[[], str]] = {
        "GET /card-units/{id}": lambda: f"/card-units/{sheet()}-{rng.randint(1, 18):02d}",
        "GET /sheets/{id}": lambda: f"/sheets/{sheet()}",
        "GET /assemblies/{id}": lambda: f"/assemblies/A-{sheet()}",
        "GET /jobs/{id}/progress": lambda: f"/jobs/{rng.choice(jobs)}/progress",
        "GET /stations/{id}/queue": lambda: f"/stations/QA-BENCH-{rng.randint(1, 3)}/queue",
        "GET /events": lambda: f"/events?after={rng.randint(0, max(0, last - 100))}&limit=100",
    }
    tallies = {}
    for name, path in endpoints.items():

        def work(_: int, path: Callable[[], str] = path) -> Iterator[tuple[str, str, bytes | None]]:
            while True:
                yield "GET", path(), None

        tallies[name] = await drive(port, clients, duration, work, token)
    return tallies


async def baseline_phase(port: int, duration: float) -> Tally:
    def work(number: int) -> Iterator[tuple[str, str, bytes | None]]:
        issued = 0
        while True:
            issued += 1
            yield "POST", "/ping", json.dumps({"scan_id": f"b{number}-{issued}"}).encode()

    return await drive(port, CLIENTS, duration, work, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per load phase")
    parser.add_argument(
        "--log-events", type=int, default=1_000_000, help="grow the log to this many events before the reads"
    )
    parser.add_argument("--data", default=None, help="data directory (default: a fresh temporary one)")
    parser.add_argument("--serve-baseline", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline is not None:
        serve_baseline(args.serve_baseline)
        return 0
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    root = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="cardtrace-bench-")) / "data"
    root.mkdir(parents=True, exist_ok=True)
    from ingest.tokens import issue_token
    from projections.data_dir import DataDir

    data = DataDir(root=root)
    tokens = {role: issue_token(data, role, subject=f"bench-{role}") for role in ("operator", "planner", "analyst")}
    print(f"cardtrace ingest HTTP benchmark; {os.cpu_count()} cores; data {root}")

    baseline_port = free_port()
    baseline = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.ingest_http", "--serve-baseline", str(baseline_port)]
    )
    try:
        wait_healthy(baseline_port, "/ping")
        before = cpu_seconds(baseline.pid)
        base = asyncio.run(baseline_phase(baseline_port, args.duration))
        base_cpu = (cpu_seconds(baseline.pid) - before) / max(1, len(base.latencies))
    finally:
        stop(baseline)
    report("baseline POST /ping (minimal)", base)
    print(f"{'':<34} server CPU {base_cpu * 1e6:.0f} us/request")

    port = free_port()
    log = (root / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "apps.cli.main", "--data", str(root), "serve", "--port", str(port)], stderr=log
    )
    try:
        wait_healthy(port, "/health")
        before = cpu_seconds(server.pid)
        scans = asyncio.run(scan_phase(port, tokens, args.duration))
        scan_cpu = (cpu_seconds(server.pid) - before) / max(1, len(scans.latencies))
        report("POST /scan (32 clients)", scans)
        print(f"{'':<34} server CPU {scan_cpu * 1e6:.0f} us/request (HTTP, decisions, journal; the sealer process too)")
        elapsed, count, statuses = asyncio.run(batch_phase(port, tokens))
        print(
            f"{'POST /scans (one batch)':<34} {count:>8} scans in {elapsed * 1000:.0f} ms = "
            f"{count / elapsed:,.0f} scans/s  statuses {statuses}"
        )
    finally:
        code = stop(server)
        print(f"serve stopped with exit code {code}")

    grown, history = grow_log(root, args.log_events)
    server = subprocess.Popen(
        [sys.executable, "-m", "apps.cli.main", "--data", str(root), "serve", "--port", str(port)], stderr=log
    )
    try:
        wait_healthy(port, "/health")
        reads = {
            clients: asyncio.run(
                read_phase(port, tokens["analyst"], max(3.0, args.duration / 3), history or ["J1001"], grown, clients)
            )
            for clients in (1, READ_CLIENTS)
        }
    finally:
        stop(server)
    for clients, tallies in reads.items():
        print(f"reads with {grown:,} events in the log, {clients} client(s):")
        for name, tally in tallies.items():
            report(f"  {name}", tally)

    ok_per_second = scans.ok() / (scans.ended - scans.started)
    print("\ntargets:")
    verdict("POST /scan durable 2xx scans/s", ok_per_second, TARGET_SCANS_PER_S)
    verdict("POST /scan p99 ms", scans.percentile_ms(0.99), TARGET_P99_MS, higher_is_better=False)
    verdict("POST /scan req/s / baseline req/s", scans.per_second / base.per_second, TARGET_BASELINE_SHARE)
    verdict("baseline server CPU per request / POST /scan's", base_cpu / scan_cpu, TARGET_BASELINE_SHARE)
    verdict("POST /scans scans/s (10,000-scan batch)", count / elapsed, TARGET_BATCH_SCANS_PER_S)
    for clients, tallies in reads.items():
        worst = max(tally.percentile_ms(0.99) for tally in tallies.values())
        verdict(f"reads worst p99 ms ({grown:,} events, {clients} client(s))", worst, TARGET_READ_P99_MS, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
