"""Example bodies for the OpenAPI document: real answers of a plant (lists shortened), kept apart from the models."""

from typing import Any

JOB: dict[str, Any] = {
    "job_id": "J1044",
    "product_id": "base-18up",
    "customer": "Northwind Cards",
    "due_date": "2026-12-01",
    "sets": 2,
    "sheets": ["J1044-S001", "J1044-S002"],
    "events": [
        {
            "event_type": "JobCreated",
            "sequence_num": 1,
            "aggregate_type": "job",
            "aggregate_id": "J1044",
            "aggregate_version": 1,
            "occurred_at": "2026-11-26T18:21:54.746905+00:00",
            "recorded_at": "2026-11-26T18:21:54.759286+00:00",
            "payload": {
                "job_id": "J1044",
                "product_id": "base-18up",
                "customer": "Northwind Cards",
                "due_date": "2026-12-01",
                "sets": 2,
                "n_up": 18,
                "serialized": False,
                "sheet_ids": ["J1044-S001", "J1044-S002"],
            },
        },
        {
            "event_type": "SheetCreated",
            "sequence_num": 2,
            "aggregate_type": "sheet",
            "aggregate_id": "J1044-S001",
            "aggregate_version": 1,
            "occurred_at": "2026-11-26T18:21:54.746905+00:00",
            "recorded_at": "2026-11-26T18:21:54.759286+00:00",
            "payload": {
                "sheet_id": "J1044-S001",
                "job_id": "J1044",
                "sheet_number": 1,
                "product_id": "base-18up",
                "n_up": 18,
                "run_size": 2,
            },
        },
    ],
}

SCAN: dict[str, Any] = {
    "scan_id": "QA-BENCH-3:0007",
    "entity_id": "J1044-S001-07",
    "state": "qa_failed",
    "command": "RecordQAResult",
    "replayed": False,
    "events": [
        {
            "event_type": "OperationStarted",
            "sequence_num": 28,
            "aggregate_type": "card_unit",
            "aggregate_id": "J1044-S001-07",
            "aggregate_version": 2,
            "occurred_at": "2026-11-02T14:07:00+00:00",
            "recorded_at": "2026-11-26T18:21:54.880874+00:00",
            "payload": {"operation_id": "qa", "station_id": "QA-BENCH-3"},
        },
        {
            "event_type": "QAResultRecorded",
            "sequence_num": 29,
            "aggregate_type": "card_unit",
            "aggregate_id": "J1044-S001-07",
            "aggregate_version": 3,
            "occurred_at": "2026-11-02T14:07:00+00:00",
            "recorded_at": "2026-11-26T18:21:54.880874+00:00",
            "payload": {
                "operation_id": "qa",
                "station_id": "QA-BENCH-3",
                "result": "FAIL",
                "attempt": 1,
                "failure_reason": "foil misregistration",
                "failure_codes": [],
            },
        },
    ],
}

SCANS: dict[str, Any] = {
    "results": [
        {
            "scan_id": "offline-1",
            "status": 201,
            "outcome": {
                "scan_id": "offline-1",
                "entity_id": "J1044-S001-08",
                "state": "qa_passed",
                "command": "RecordQAResult",
                "replayed": False,
                "events": [
                    {
                        "event_type": "QAResultRecorded",
                        "sequence_num": 36,
                        "aggregate_type": "card_unit",
                        "aggregate_id": "J1044-S001-08",
                        "aggregate_version": 3,
                        "occurred_at": "2026-11-02T14:30:00+00:00",
                        "recorded_at": "2026-11-26T18:21:54.932993+00:00",
                        "payload": {
                            "operation_id": "qa",
                            "station_id": "QA-BENCH-2",
                            "result": "PASS",
                            "attempt": 1,
                            "failure_reason": None,
                            "failure_codes": [],
                        },
                    }
                ],
            },
        },
        {
            "scan_id": "offline-2",
            "status": 422,
            "outcome": None,
            "error": "validation_error",
            "detail": "scans.1.occurred_at: Input should have timezone info",
        },
    ]
}

VOID: dict[str, Any] = {
    "card_unit_id": "J1044-S001-05",
    "status": "voided",
    "events": [
        {
            "event_type": "CardUnitVoided",
            "sequence_num": 37,
            "aggregate_type": "card_unit",
            "aggregate_id": "J1044-S001-05",
            "aggregate_version": 2,
            "occurred_at": "2026-11-26T18:21:54.941416+00:00",
            "recorded_at": "2026-11-26T18:21:54.946947+00:00",
            "payload": {"reason": "creased corner", "authorized_by": "admin-e2e", "released_memorabilia_id": None},
        }
    ],
}

REPLACEMENT: dict[str, Any] = {
    "card_unit_id": "J1044-S001-05",
    "replacement_id": "J1044-S001-05-R1",
    "events": [
        {
            "event_type": "CardUnitReplaced",
            "sequence_num": 38,
            "aggregate_type": "card_unit",
            "aggregate_id": "J1044-S001-05",
            "aggregate_version": 3,
            "occurred_at": "2026-11-26T18:21:54.961713+00:00",
            "recorded_at": "2026-11-26T18:21:54.962221+00:00",
            "payload": {"replacement_card_unit_id": "J1044-S001-05-R1"},
        },
        {
            "event_type": "CardUnitCreated",
            "sequence_num": 39,
            "aggregate_type": "card_unit",
            "aggregate_id": "J1044-S001-05-R1",
            "aggregate_version": 1,
            "occurred_at": "2026-11-26T18:21:54.961713+00:00",
            "recorded_at": "2026-11-26T18:21:54.962221+00:00",
            "payload": {
                "card_unit_id": "J1044-S001-05-R1",
                "sheet_id": "J1044-S001",
                "job_id": "J1044",
                "position": 5,
                "product_id": "base-18up",
                "embellishments": [],
                "serial_run_size": 0,
                "replaces": "J1044-S001-05",
                "printed_on_sheet_id": None,
            },
        },
    ],
}

PROGRESS: dict[str, Any] = {
    "job_id": "J1044",
    "product_id": "base-18up",
    "customer": "Northwind Cards",
    "due_date": "2026-12-01",
    "total_sheets": 2,
    "total_cards": 36,
    "cards_by_status": {
        "created": 16,
        "in_progress": 0,
        "qa_passed": 1,
        "qa_failed": 0,
        "voided": 1,
        "assembled": 1,
        "packed": 0,
    },
    "sheets_cut": 1,
    "sets_complete": 0,
    "sets_packed": 0,
    "percent_complete": 0.0,
}

# A job in the list is its progress plus when it was created.
JOBS: dict[str, Any] = {"jobs": [{**PROGRESS, "created_at": "2026-11-26T18:21:54.746905+00:00"}]}


ESTIMATED_COMPLETION: dict[str, Any] = {
    "job_id": "J1044",
    "due_date": "2026-12-01",
    "complete": False,
    "estimated_completion": "2026-11-26T19:05:57.844871+00:00",
    "on_time": True,
    "late_by_hours": 0.0,
    "driving_operation_id": "press",
    "driving_station_id": "PRESS-1",
}

SHEET: dict[str, Any] = {
    "sheet_id": "J1044-S001",
    "job_id": "J1044",
    "sheet_number": 1,
    "product_id": "base-18up",
    "n_up": 18,
    "status": "cut",
    "current_station_id": "CUT-1",
    "active_operation_id": None,
    "completed_operations": ["press", "foil", "cut"],
}

CARD_UNIT: dict[str, Any] = {
    "card_unit_id": "J1044-S001-07",
    "sheet_id": "J1044-S001",
    "job_id": "J1044",
    "position": 7,
    "product_id": "base-18up",
    "status": "assembled",
    "current_station_id": "ASSEMBLY-1",
    "active_operation_id": None,
    "completed_operations": ["qa"],
    "qa_result": "PASS",
    "qa_failure_reason": None,
    "qa_attempts": 2,
    "serial_number": None,
    "serial_run_size": 0,
    "memorabilia_id": None,
    "replaces": None,
    "replaced_by": None,
    "printed_on_sheet_id": None,
    "assembly_id": "A-J1044-S001",
    "pack_id": None,
    "created_at": "2026-11-02T14:06:00+00:00",
    "updated_at": "2026-11-02T14:09:00+00:00",
    "lineage": {
        "job_id": "J1044",
        "sheet_id": "J1044-S001",
        "original_id": "J1044-S001-07",
        "replaces": None,
        "replaced_by": None,
        "printed_on_sheet_id": None,
        "assembly_id": "A-J1044-S001",
        "pack_id": None,
    },
    "history": [
        {
            "event_type": "CardUnitCreated",
            "sequence_num": 16,
            "aggregate_type": "card_unit",
            "aggregate_id": "J1044-S001-07",
            "aggregate_version": 1,
            "occurred_at": "2026-11-02T14:06:00+00:00",
            "recorded_at": "2026-11-26T18:21:54.864886+00:00",
            "station_id": "CUT-1",
            "operator_id": "OP-42",
            "scan_id": "QA-BENCH-3:0006",
            "payload": {
                "card_unit_id": "J1044-S001-07",
                "sheet_id": "J1044-S001",
                "job_id": "J1044",
                "position": 7,
                "product_id": "base-18up",
                "embellishments": ["foil gold wave front"],
                "serial_run_size": 0,
                "replaces": None,
                "printed_on_sheet_id": None,
            },
        },
        {
            "event_type": "OperationStarted",
            "sequence_num": 28,
            "aggregate_type": "card_unit",
            "aggregate_id": "J1044-S001-07",
            "aggregate_version": 2,
            "occurred_at": "2026-11-02T14:07:00+00:00",
            "recorded_at": "2026-11-26T18:21:54.880874+00:00",
            "station_id": "QA-BENCH-3",
            "operator_id": "OP-42",
            "scan_id": "QA-BENCH-3:0007",
            "payload": {"operation_id": "qa", "station_id": "QA-BENCH-3"},
        },
    ],
}

ASSEMBLY: dict[str, Any] = {
    "assembly_id": "A-J1044-S001",
    "sheet_id": "J1044-S001",
    "job_id": "J1044",
    "expected_count": 18,
    "station_id": "ASSEMBLY-1",
    "opened_at": "2026-11-02T14:09:00+00:00",
    "present": [{"position": 7, "card_unit_id": "J1044-S001-07"}],
    "status": "in_progress",
    "pack_id": None,
    "present_positions": [7],
    "missing_positions": [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
    "replacement_card_unit_ids": [],
    "absent_alert_at": "2026-11-02T18:09:00+00:00",
    "absent_past_timeout": [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
    "card_unit_ids": ["J1044-S001-07"],
}

STATION_QUEUE: dict[str, Any] = {
    "station_id": "QA-BENCH-3",
    "station_type": "QA-BENCH",
    "waiting": ["J1044-S001-01", "J1044-S001-02", "J1044-S001-03"],
    "in_progress": [],
    "waiting_units": 16,
    "in_progress_units": 0,
    "waiting_minutes": 4.0,
    "in_progress_minutes": 0.0,
}

CAPACITY: dict[str, Any] = {
    "stations": [
        {
            "station_id": "PRESS-1",
            "station_type": "PRESS",
            "parallel_units": 1,
            "rated_capacity": 40.0,
            "capacity_unit": "sheets/hour",
            "available_minutes_per_day": 960.0,
            "waiting_units": 1,
            "in_progress_units": 0,
            "queued_minutes": 1.5,
            "load_days": 0.0016,
        }
    ],
    "bottleneck_station_id": "QA-BENCH-1",
}

FORECAST: dict[str, Any] = {
    "days": 2,
    "start": "2026-11-26T18:21:57.844871+00:00",
    "solver_status": "OPTIMAL",
    "bottleneck_station_id": "PRESS-1",
    "bottleneck_utilization": 0.0167,
    "stations": [
        {
            "station_id": "PRESS-1",
            "day": "2026-11-26",
            "scheduled_hours": 0.533,
            "available_hours": 16.0,
            "utilization": 0.0333,
        }
    ],
    "jobs_at_risk": [],
}

HEALTH: dict[str, Any] = {
    "status": "ok",
    "journal": {
        "last_sequence": 39,
        "details": {
            "last_sequence": 39,
            "sealed_sequence": 39,
            "seal_lag_events": 0,
            "seal_lag_seconds": 0.0,
            "sealing": True,
            "sealer_error": None,
            "lake_problem": None,
            "read_only": False,
        },
    },
    "lake": {"sealed_through": 39, "seal_lag_events": 0, "seal_lag_seconds": 0.0},
}

EVENTS: dict[str, Any] = {
    "events": [
        {
            "sequence_num": 28,
            "aggregate_type": "card_unit",
            "aggregate_id": "J1044-S001-07",
            "aggregate_version": 2,
            "event_type": "OperationStarted",
            "schema_version": 1,
            "occurred_at": "2026-11-02T14:07:00+00:00",
            "recorded_at": "2026-11-02T14:07:00.031000+00:00",
            "event_date": "2026-11-02",
            "job_id": "J1044",
            "sheet_id": "J1044-S001",
            "card_unit_id": "J1044-S001-07",
            "station_id": "QA-BENCH-3",
            "operator_id": "OP-42",
            "scan_id": "QA-BENCH-3:0007",
            "payload": {"operation_id": "qa", "station_id": "QA-BENCH-3"},
        }
    ],
    "next_after": 28,
}
