"""Assemblies (a sheet's set): `core.reference.evolve_assembly_view` as a vectorized fold, plus the absence alert.

A set's members are the cards gathered into it and not removed (a card is gathered once, and leaves a set only
voided, afterwards); its status is set by its last lifecycle event, where a removal leaves it `in_progress` if
anyone is still present (the last removal sees the final membership, since no gathering or removal follows
it). Positions are the gathered cards' own, so two cards may hold one position when a cut hides the removal
of the first. Event types become small codes and JSON is parsed only for openings and packings.

`assemblies_view_sql` adds what depends on the moment the view is read: the positions still missing
`timeout_minutes` after the set was opened (the "absent past a timeout" alert), judged at the cut's time.
"""

from datetime import datetime, timedelta

from projections.views.sql import empty_relation, event_type, payload_schema, timestamp_literal

ASSEMBLY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("assembly_id", "VARCHAR"),
    ("sheet_id", "VARCHAR"),
    ("job_id", "VARCHAR"),
    ("expected_count", "INTEGER"),
    ("station_id", "VARCHAR"),
    ("opened_at", "TIMESTAMPTZ"),
    ("present", "STRUCT(position INTEGER, card_unit_id VARCHAR)[]"),
    ("status", "VARCHAR"),
    ("pack_id", "VARCHAR"),
)

OPENED = event_type("AssemblyOpened")
GATHERED = event_type("CardUnitGathered")
REMOVED = event_type("CardUnitRemovedFromSet")
COMPLETED = event_type("AssemblyCompleted")
PACKED = event_type("SetPacked")
LIFECYCLE = f"({OPENED}, {GATHERED}, {REMOVED}, {COMPLETED}, {PACKED})"
OPENED_FACTS = payload_schema(
    (("sheet_id", "VARCHAR"), ("job_id", "VARCHAR"), ("expected_count", "INTEGER"), ("station_id", "VARCHAR"))
)


def partial_sql(events: str, previous: str | None = None) -> str:
    """Per-set deltas of a range of the log; `previous` (the state before it) supplies earlier members."""
    prior_members = ""
    if previous is not None:
        prior_members = f"""
            UNION ALL
            SELECT a.assembly_id, m.card_unit_id, 0 AS seq, TRUE AS gathered, m.position
            FROM {previous} AS a, unnest(a.present) AS u(m)
            WHERE a.assembly_id IN (SELECT assembly_id FROM membership_events)
        """
    return f"""
    WITH
    set_events AS (
        SELECT sequence_num AS seq, occurred_at, aggregate_id AS assembly_id, card_unit_id,
            CASE event_type WHEN {OPENED} THEN 1 WHEN {GATHERED} THEN 2 WHEN {REMOVED} THEN 3
                WHEN {COMPLETED} THEN 4 WHEN {PACKED} THEN 5 ELSE 0 END AS k,
            CASE WHEN event_type = {OPENED} THEN from_json(payload, {OPENED_FACTS}) END AS opened,
            CASE WHEN event_type = {PACKED} THEN from_json(payload, '{{"pack_id": "VARCHAR"}}').pack_id END AS pack_id
        FROM {events}
        WHERE aggregate_type = 'assembly'
    ),
    -- A card gathers at its own position, which its id carries (J1044-S003-07-R1 -> 7).
    membership_events AS (
        SELECT assembly_id, card_unit_id, seq, k = 2 AS gathered,
            CASE WHEN k = 2 THEN CAST(split_part(card_unit_id, '-', 3) AS INTEGER) END AS position
        FROM set_events
        WHERE k IN (2, 3)
    ),
    -- A card is gathered into its set once and leaves it (voided) at most once, afterwards: the members are
    -- the gathered cards not removed.
    members AS (
        SELECT assembly_id, list_sort(list({{'position': position, 'card_unit_id': card_unit_id}})) AS present
        FROM (SELECT * FROM membership_events WHERE gathered {prior_members}) AS g
        ANTI JOIN (SELECT assembly_id, card_unit_id FROM membership_events WHERE NOT gathered) AS r
            USING (assembly_id, card_unit_id)
        GROUP BY assembly_id
    ),
    grouped AS (
        SELECT assembly_id,
            any_value(opened) FILTER (WHERE k = 1) AS opened,
            any_value(occurred_at) FILTER (WHERE k = 1) AS opened_at,
            max(seq * 8 + k) FILTER (WHERE k > 0) AS last_event,
            max(seq) FILTER (WHERE k IN (2, 3)) AS membership_seq,
            arg_max(pack_id, seq) FILTER (WHERE k = 5) AS pack_id
        FROM set_events
        GROUP BY assembly_id
    )
    SELECT g.assembly_id, opened IS NOT NULL AS has_opened, opened, opened_at,
        last_event IS NOT NULL AS touched,
        CASE last_event % 8 WHEN 1 THEN {OPENED} WHEN 2 THEN {GATHERED} WHEN 3 THEN {REMOVED}
            WHEN 4 THEN {COMPLETED} WHEN 5 THEN {PACKED} END AS last_event_type,
        opened IS NOT NULL OR pack_id IS NOT NULL AS has_pack, pack_id,
        membership_seq IS NOT NULL AS members_touched, coalesce(m.present, []) AS present
    FROM grouped AS g LEFT JOIN members AS m USING (assembly_id)
    """


def merge_sql(partial: str, previous: str | None = None, *, touched_only: bool = False) -> str:
    join = "LEFT" if touched_only else "FULL OUTER"
    prior = previous if previous is not None else empty_relation(ASSEMBLY_COLUMNS)
    return f"""
    SELECT assembly_id, sheet_id, job_id, expected_count, station_id, opened_at, present,
        CASE WHEN touched THEN
            CASE last_event_type
                WHEN {OPENED} THEN 'pending'
                WHEN {GATHERED} THEN 'in_progress'
                WHEN {REMOVED} THEN CASE WHEN len(present) > 0 THEN 'in_progress' ELSE 'pending' END
                WHEN {COMPLETED} THEN 'complete'
                ELSE 'packed'
            END
            ELSE previous_status
        END AS status,
        pack_id
    FROM (
        SELECT coalesce(d.assembly_id, p.assembly_id) AS assembly_id,
            CASE WHEN d.has_opened THEN d.opened.sheet_id ELSE p.sheet_id END AS sheet_id,
            CASE WHEN d.has_opened THEN d.opened.job_id ELSE p.job_id END AS job_id,
            CASE WHEN d.has_opened THEN d.opened.expected_count ELSE p.expected_count END AS expected_count,
            CASE WHEN d.has_opened THEN d.opened.station_id ELSE p.station_id END AS station_id,
            CASE WHEN d.has_opened THEN d.opened_at ELSE p.opened_at END AS opened_at,
            CASE WHEN d.members_touched OR d.has_opened THEN d.present ELSE p.present END AS present,
            coalesce(d.touched, FALSE) AS touched, d.last_event_type, p.status AS previous_status,
            CASE WHEN d.has_pack THEN d.pack_id ELSE p.pack_id END AS pack_id
        FROM ({partial}) AS d {join} JOIN {prior} AS p ON p.assembly_id = d.assembly_id
        WHERE p.assembly_id IS NOT NULL OR d.has_opened
    )
    """


def assemblies_sql(events: str) -> str:
    """Every set folded from scratch over `events` (the stored columns, without the alert)."""
    return merge_sql(partial_sql(events))


def assemblies_view_sql(assemblies: str, timeout_minutes: int, at: datetime) -> str:
    """The assemblies with their positions, replacements and the absence alert judged at `at`."""
    timeout = timedelta(minutes=timeout_minutes)
    return f"""
    SELECT *,
        CASE WHEN status IN ('pending', 'in_progress') AND absent_alert_at <= {timestamp_literal(at)}
            THEN missing_positions ELSE [] END AS absent_past_timeout
    FROM (
        SELECT *,
            [m.position FOR m IN present] AS present_positions,
            list_filter(range(1, expected_count + 1), lambda x: NOT list_contains([m.position FOR m IN present], x))
                AS missing_positions,
            [m.card_unit_id FOR m IN present IF contains(m.card_unit_id, '-R')] AS replacement_card_unit_ids,
            opened_at + INTERVAL '{int(timeout.total_seconds())} seconds' AS absent_alert_at
        FROM {assemblies}
    )
    """
