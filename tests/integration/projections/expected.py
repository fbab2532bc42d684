"""The reference's answers (core.reference) in the plain shapes the read models return, for comparison."""

from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from core.envelope import RecordedEvent
from core.factory import Factory
from core.reference import (
    AssemblyView,
    CardUnitView,
    Cut,
    JobView,
    SheetView,
    job_progress,
    project,
    station_queues,
)

Rows = dict[str, dict[str, Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _row(view: CardUnitView | SheetView | JobView) -> dict[str, Any]:
    return {f.name: _plain(getattr(view, f.name)) for f in fields(view)}


def card_units(events: Iterable[RecordedEvent], cut: Cut) -> Rows:
    return {key: _row(view) for key, view in project(events, cut).card_units.items()}


def sheets(events: Iterable[RecordedEvent], cut: Cut) -> Rows:
    return {key: _row(view) for key, view in project(events, cut).sheets.items()}


def jobs(events: Iterable[RecordedEvent], cut: Cut) -> Rows:
    return {key: _row(view) for key, view in project(events, cut).jobs.items()}


def _assembly(view: AssemblyView, timeout_minutes: int, at: datetime) -> dict[str, Any]:
    overdue = view.status in ("pending", "in_progress") and view.opened_at + timedelta(minutes=timeout_minutes) <= at
    return {
        "assembly_id": view.assembly_id,
        "sheet_id": view.sheet_id,
        "job_id": view.job_id,
        "expected_count": view.expected_count,
        "station_id": view.station_id,
        "opened_at": view.opened_at,
        "present": [{"position": p, "card_unit_id": c} for p, c in view.present],
        "status": view.status,
        "pack_id": view.pack_id,
        "present_positions": list(view.present_positions),
        "missing_positions": list(view.missing_positions),
        "replacement_card_unit_ids": list(view.replacement_card_unit_ids),
        "absent_past_timeout": list(view.missing_positions) if overdue else [],
    }


def assemblies(events: Iterable[RecordedEvent], cut: Cut, timeout_minutes: int, at: datetime) -> Rows:
    return {key: _assembly(view, timeout_minutes, at) for key, view in project(events, cut).assemblies.items()}


def progress(events: Iterable[RecordedEvent], cut: Cut) -> Rows:
    rows: Rows = {}
    for key, p in job_progress(project(events, cut)).items():
        rows[key] = {
            "job_id": p.job_id,
            "total_sheets": p.total_sheets,
            "total_cards": p.total_cards,
            "cards_by_status": dict(p.cards_by_status),
            "sheets_cut": p.sheets_cut,
            "sets_complete": p.sets_complete,
            "sets_packed": p.sets_packed,
            "percent_complete": p.percent_complete,
        }
    return rows


def queues(events: Iterable[RecordedEvent], cut: Cut, factory: Factory) -> Rows:
    rows: Rows = {}
    for key, q in station_queues(project(events, cut), factory).items():
        rows[key] = {
            "station_id": q.station_id,
            "station_type": q.station_type,
            "waiting": list(q.waiting),
            "in_progress": list(q.in_progress),
            "waiting_minutes": q.waiting_minutes,
            "in_progress_minutes": q.in_progress_minutes,
        }
    return rows


def keyed(rows: Iterable[Mapping[str, Any]], key: str, columns: Iterable[str]) -> Rows:
    """Rows of a read model keyed by id and narrowed to the columns the reference knows."""
    names = list(columns)
    return {str(row[key]): {name: row[name] for name in names} for row in rows}
