"""How the simulator reaches the plant: two transports behind one interface, both through the real ingest path.

- `InProcessClient` (the default, fast): the same `ScanService` the HTTP API uses, over the data directory's
  `EventStore`; scans go in batches through `submit_scans`. The service's clock is the simulated clock, so jobs,
  voids and replacements happen at simulated time too.
- `HttpClient` (`--via URL --token T`): the same calls over HTTP to a running `cardtrace serve`. Office commands
  then happen at the server's clock (the API takes no time for them), so use it for live traffic or load.

Neither writes the journal or the lake itself: the simulator is a client of the plant, never a back door.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import httpx

from core.commands import Actor, Role
from core.errors import DomainError
from core.factory import Factory
from core.ids import parse_card_unit_id
from core.routing import Scan
from ingest.service import ScanOutcome, ScanService
from projections.data_dir import DataDir
from projections.store import EventStore
from projections.store.errors import EventStoreError, JournalInUse

FLOOR: Final = Actor(subject="sim-floor", role="operator")
MANAGER: Final = Actor(subject="MGR-1", role="manager")
PLANNER: Final = Actor(subject="PLN-1", role="planner")
HTTP_BATCH: Final = 5_000  # scans per POST /scans: well inside the API's 10,000-scan and 16 MiB limits
MAX_MEMORABILIA: Final = 999_999


class SimulationError(DomainError):
    """The simulation cannot run against this data directory or server; the message says why and what to do."""

    code = "simulation_error"


class CommandRefused(SimulationError):
    """The plant refused an office command (a job, a void, a replacement); the simulation carries on without it."""

    code = "command_refused"


@contextmanager
def _refusals() -> Iterator[None]:
    """The service's refusals of an office command, as the simulator sees them."""
    try:
        yield
    except (DomainError, EventStoreError) as error:
        raise CommandRefused(_describe(error)) from error


@dataclass(frozen=True, kw_only=True, slots=True)
class Delivery:
    """What a batch of scans recorded: how many events, and every scan the plant refused with its reason."""

    events: int
    refused: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class JobTicket:
    job_id: str
    sheets: tuple[str, ...]
    events: int


class PlantClient(Protocol):
    """The ingest path as the simulator calls it, whatever carries the calls."""

    def submit_scans(self, scans: Sequence[Scan], *, by_manager: bool = False) -> Delivery: ...

    def create_job(self, *, product: str, sets: int, customer: str, due_date: str, at: datetime) -> JobTicket: ...

    def void_card_unit(self, card_unit_id: str, *, reason: str, at: datetime) -> int:
        """Voids the card (a manager's call); answers the number of events recorded."""

    def create_replacement(self, card_unit_id: str, *, printed_on_sheet_id: str, at: datetime) -> tuple[str, int]:
        """Orders the replacement of a voided card; answers its id and the number of events recorded."""

    def first_free_memorabilia_number(self, hint: int) -> int:
        """The first memorabilia number no earlier run has used (at least `hint`)."""

    def close(self) -> None: ...


class InProcessClient:
    """The `ScanService` over the data directory's own `EventStore`, with the simulated clock as its clock."""

    def __init__(self, data_dir: DataDir, factory: Factory | None = None) -> None:
        try:
            self._store = EventStore(data_dir)
        except JournalInUse:
            raise SimulationError(
                f"another process (a running `cardtrace serve`?) holds the journal of {data_dir.root}; "
                "stop it, or simulate through it with --via URL --token T"
            ) from None
        self._moment = datetime.now(UTC)
        self._service = ScanService(self._store, factory or data_dir.load_factory(), clock=lambda: self._moment)

    @property
    def store(self) -> EventStore:
        return self._store

    def submit_scans(self, scans: Sequence[Scan], *, by_manager: bool = False) -> Delivery:
        results = self._service.submit_scans(scans, MANAGER if by_manager else FLOOR)
        events = 0
        refused: list[tuple[str, str]] = []
        for scan, result in zip(scans, results, strict=True):
            if isinstance(result, ScanOutcome):
                events += 0 if result.replayed else len(result.events)
            else:
                refused.append((scan.scan_id, _describe(result)))
        return Delivery(events=events, refused=tuple(refused))

    def create_job(self, *, product: str, sets: int, customer: str, due_date: str, at: datetime) -> JobTicket:
        self._moment = at
        with _refusals():
            outcome = self._service.create_job(
                product=product, sets=sets, customer=customer, due_date=due_date, actor=PLANNER
            )
        return JobTicket(job_id=outcome.job_id, sheets=outcome.sheets, events=len(outcome.events))

    def void_card_unit(self, card_unit_id: str, *, reason: str, at: datetime) -> int:
        self._moment = at
        with _refusals():
            return len(self._service.void_card_unit(card_unit_id, reason=reason, actor=MANAGER).events)

    def create_replacement(self, card_unit_id: str, *, printed_on_sheet_id: str, at: datetime) -> tuple[str, int]:
        self._moment = at
        with _refusals():
            outcome = self._service.create_replacement(
                card_unit_id, actor=MANAGER, printed_on_sheet_id=printed_on_sheet_id
            )
        return outcome.replacement_id, len(outcome.events)

    def first_free_memorabilia_number(self, hint: int) -> int:
        """Memorabilia items are numbered in the order they are first placed, so the used ones are a prefix."""

        def used(number: int) -> bool:
            return self._service.state_of(f"M-{number:06d}") is not None

        low = max(hint, 1)
        if not used(low):
            return low
        step = 1
        while low + step <= MAX_MEMORABILIA and used(low + step):
            low += step
            step *= 2
        high = min(low + step, MAX_MEMORABILIA + 1)  # used(low), not used(high)
        while high - low > 1:
            middle = (low + high) // 2
            if used(middle):
                low = middle
            else:
                high = middle
        return high

    def close(self) -> None:
        """Seal every acknowledged event into the lake, then close the store."""
        try:
            self._store.seal_now()
        finally:
            self._store.close()


class HttpClient:
    """The same calls to a running `cardtrace serve`; each role's calls carry that role's token.

    One token for every role works when it is an admin's; the demo gives each role its own.
    """

    def __init__(self, base_url: str, tokens: str | Mapping[Role, str], *, timeout: float = 120.0) -> None:
        self._tokens: Mapping[Role, str] = (
            dict.fromkeys(("operator", "manager", "planner"), tokens) if isinstance(tokens, str) else tokens
        )
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def _post(self, role: Role, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        token = self._tokens.get(role)
        if token is None:
            raise SimulationError(f"no {role} token to {path}")
        try:
            response = self._http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as error:
            raise SimulationError(f"cannot reach {self._http.base_url}: {error}") from None
        document: dict[str, Any] = response.json() if response.content else {}
        if response.status_code >= 400:
            problem = f"POST {path} answered {response.status_code}: {document.get('error')}: {document.get('detail')}"
            # The plant's no (invalid, unknown, conflicting) is the simulation's business; a bad token or a failing
            # server is not, and stops it.
            if response.status_code in (400, 404, 409, 422):
                raise CommandRefused(problem)
            raise SimulationError(problem)
        return document

    def submit_scans(self, scans: Sequence[Scan], *, by_manager: bool = False) -> Delivery:
        role: Role = "manager" if by_manager else "operator"
        events = 0
        refused: list[tuple[str, str]] = []
        for first in range(0, len(scans), HTTP_BATCH):
            chunk = scans[first : first + HTTP_BATCH]
            answer = self._post(role, "/scans", {"scans": [scan_json(scan) for scan in chunk]})
            for result in answer["results"]:
                if result["status"] == 201:
                    events += len(result["outcome"]["events"])
                elif result["status"] != 200:
                    refused.append((str(result["scan_id"]), f"{result.get('error')}: {result.get('detail')}"))
        return Delivery(events=events, refused=tuple(refused))

    def create_job(self, *, product: str, sets: int, customer: str, due_date: str, at: datetime) -> JobTicket:
        answer = self._post(
            "planner", "/jobs", {"product": product, "sets": sets, "customer": customer, "due_date": due_date}
        )
        return JobTicket(job_id=answer["job_id"], sheets=tuple(answer["sheets"]), events=len(answer["events"]))

    def void_card_unit(self, card_unit_id: str, *, reason: str, at: datetime) -> int:
        card = parse_card_unit_id(card_unit_id).card_unit_id
        return len(self._post("manager", f"/card-units/{card}/void", {"reason": reason})["events"])

    def create_replacement(self, card_unit_id: str, *, printed_on_sheet_id: str, at: datetime) -> tuple[str, int]:
        card = parse_card_unit_id(card_unit_id).card_unit_id
        answer = self._post("manager", f"/card-units/{card}/replacements", {"printed_on_sheet_id": printed_on_sheet_id})
        return str(answer["replacement_id"]), len(answer["events"])

    def first_free_memorabilia_number(self, hint: int) -> int:
        # The API has no memorabilia read; the simulation state file carries the next number between runs.
        return max(hint, 1)

    def close(self) -> None:
        self._http.close()


def scan_json(scan: Scan) -> dict[str, Any]:
    """A scan as POST /scan takes it; only the fields it carries, so a scan's fingerprint is the same both ways."""
    body: dict[str, Any] = {
        "scan_id": scan.scan_id,
        "barcode": scan.barcode,
        "station_id": scan.station_id,
        "operator_id": scan.operator_id,
        "occurred_at": scan.occurred_at.isoformat(),
    }
    for name in ("result", "failure_reason", "memorabilia_id", "assembly_id", "pack_id", "override_reason"):
        value = getattr(scan, name)
        if value is not None:
            body[name] = value
    if scan.failure_codes:
        body["failure_codes"] = list(scan.failure_codes)
    return body


def _describe(error: Exception) -> str:
    if isinstance(error, DomainError):
        return f"{error.code}: {error.message}"
    return f"{type(error).__name__}: {error}"
