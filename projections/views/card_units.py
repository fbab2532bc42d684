"""Card units: `core.reference.evolve_card_unit_view` as one vectorized fold (a GROUP BY, no per-event loop).

Each field of a card row is set by a few event types and keeps the value of the last of them (by sequence);
so a row is, per field, the value at the maximum sequence among that field's setters. A card's creation
comes first and resets every field. `completed_operations` is the completions in order; the status is derived
from the final fields with the reference's precedence, except that a void is final. `SetPacked` reaches the
cards that sit in the set when it is packed, as the reference's fold does: a card gathered before the packing
and not removed before it (a card is gathered into a set once and leaves it once, voided).

The fold is split in two so materialization can be incremental: `partial_sql` folds any contiguous range of
the log into per-card deltas (with a flag per field saying whether the range set it), and `merge_sql` lays the
deltas over the previous state. A fold from scratch takes the deltas as the rows.

Its cost is the width of the per-card aggregate state, so the fold keeps it narrow (measured: a wide version
ran 4-5x slower): a card's creation facts are joined to its row after the grouping; winners are integer
maxima of the sequence, some packed with a small value (the last QA outcome and attempt, whether the last set
event was a gathering); strings are replaced by hashes looked up
in small dictionaries built in the same query (stations, the payloads of operation starts, the operations
completed); JSON is parsed only for completions and creations, once per event. Facts the envelope carries
stand in for payload fields the reference reads: the card an event is about is the envelope's
`card_unit_id`, the station an operation, gathering or packing happened at is the envelope's `station_id`
(the scan's station, which decisions copy into those payloads), a card is gathered only into its own sheet's
set (`A-<sheet>`, decisions refuse any other), and nothing happens to a voided card but its replacement and
its removal from its set. The equivalence suite holds all of this to the reference.
"""

from projections.views.sql import CARD_COMPLETIONS, event_type, event_type_codes, event_types, payload_schema

CARD_UNIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("card_unit_id", "VARCHAR"),
    ("sheet_id", "VARCHAR"),
    ("job_id", "VARCHAR"),
    ("position", "INTEGER"),
    ("product_id", "VARCHAR"),
    ("status", "VARCHAR"),
    ("current_station_id", "VARCHAR"),
    ("active_operation_id", "VARCHAR"),
    ("completed_operations", "VARCHAR[]"),
    ("qa_result", "VARCHAR"),
    ("qa_failure_reason", "VARCHAR"),
    ("qa_attempts", "INTEGER"),
    ("serial_number", "INTEGER"),
    ("serial_run_size", "INTEGER"),
    ("memorabilia_id", "VARCHAR"),
    ("replaces", "VARCHAR"),
    ("replaced_by", "VARCHAR"),
    ("printed_on_sheet_id", "VARCHAR"),
    ("assembly_id", "VARCHAR"),
    ("pack_id", "VARCHAR"),
    ("created_at", "TIMESTAMPTZ"),
    ("updated_at", "TIMESTAMPTZ"),
)

CREATED = event_type("CardUnitCreated")
STARTED = event_type("OperationStarted")
QA = event_type("QAResultRecorded")
SERIAL = event_type("SerialNumberApplied")
MEMORABILIA = event_type("MemorabiliaInserted")
VOIDED = event_type("CardUnitVoided")
REPLACED = event_type("CardUnitReplaced")
GATHERED = event_type("CardUnitGathered")
REMOVED = event_type("CardUnitRemovedFromSet")
PACKED = event_type("SetPacked")
OPENED = event_type("AssemblyOpened")
COMPLETIONS = event_types(CARD_COMPLETIONS)

OPERATION_FACTS = payload_schema(
    (
        ("operation_id", "VARCHAR"),
        ("result", "VARCHAR"),
        ("attempt", "INTEGER"),
        ("failure_reason", "VARCHAR"),
        ("serial_number", "INTEGER"),
        ("memorabilia_id", "VARCHAR"),
    )
)
CREATED_FACTS = payload_schema(
    (
        ("sheet_id", "VARCHAR"),
        ("job_id", "VARCHAR"),
        ("position", "INTEGER"),
        ("product_id", "VARCHAR"),
        ("serial_run_size", "INTEGER"),
        ("replaces", "VARCHAR"),
        ("printed_on_sheet_id", "VARCHAR"),
    )
)


# Event types as small integers inside the fold; completions take the highest codes so `k >= _K_COMPLETED`
# names them all.
_KINDS: tuple[str, ...] = (
    "CardUnitCreated",
    "OperationStarted",
    "CardUnitVoided",
    "CardUnitReplaced",
    "CardUnitGathered",
    "CardUnitRemovedFromSet",
    "SetPacked",
    *CARD_COMPLETIONS,
)
_K_CREATED, _K_STARTED, _K_VOIDED, _K_REPLACED, _K_GATHERED, _K_REMOVED, _K_PACKED = range(1, 8)
_K_COMPLETED = 8
_K_QA = 8 + CARD_COMPLETIONS.index("QAResultRecorded")
_K_SERIAL = 8 + CARD_COMPLETIONS.index("SerialNumberApplied")
_K_MEMORABILIA = 8 + CARD_COMPLETIONS.index("MemorabiliaInserted")
_COMPLETION = f"k >= {_K_COMPLETED} AND (k <> {_K_QA} OR fact.result = 'PASS')"
_KIND_CASES = event_type_codes(_KINDS)


def partial_sql(events: str, previous_assemblies: str | None = None) -> str:
    """Per-card deltas of the events in `events` (any contiguous range of the log).

    `previous_assemblies` is the assemblies state before the range (incremental use): a set packed in the
    range reaches the cards gathered before it, in the range or earlier.
    """
    prior_members = ""
    prior_opened = ""
    if previous_assemblies is not None:
        # Only the sets packed in the range need their earlier members and their opening.
        packed_here = f"""
            SELECT aggregate_id FROM {events} WHERE aggregate_type = 'assembly' AND event_type = {PACKED}
        """
        prior_members = f"""
            UNION ALL
            SELECT a.assembly_id, m.card_unit_id, 0 AS seq, TRUE AS gathered
            FROM {previous_assemblies} AS a, unnest(a.present) AS u(m)
            WHERE a.assembly_id IN ({packed_here})
        """
        prior_opened = f"""
            UNION ALL SELECT assembly_id FROM {previous_assemblies} WHERE assembly_id IN ({packed_here})
        """
    return f"""
    WITH
    membership AS (
        SELECT aggregate_id AS assembly_id, card_unit_id, sequence_num AS seq, event_type = {GATHERED} AS gathered
        FROM {events}
        WHERE aggregate_type = 'assembly' AND event_type IN ({GATHERED}, {REMOVED}) AND card_unit_id IS NOT NULL
        {prior_members}
    ),
    opened AS (
        SELECT aggregate_id AS assembly_id FROM {events}
        WHERE aggregate_type = 'assembly' AND event_type = {OPENED}
        {prior_opened}
    ),
    packed AS (
        SELECT sequence_num AS seq, occurred_at, aggregate_id AS assembly_id, station_id,
            from_json(payload, '{{"pack_id": "VARCHAR"}}').pack_id AS pack_id
        FROM {events}
        WHERE aggregate_type = 'assembly' AND event_type = {PACKED}
            AND aggregate_id IN (SELECT assembly_id FROM opened)
    ),
    -- A card is gathered into a set at most once and leaves it (voided) at most once, after: it is in the
    -- set when packed if it was gathered before the packing and not removed before it.
    pack_targets AS (
        SELECT p.seq, p.occurred_at, g.card_unit_id, p.station_id, p.pack_id
        FROM packed AS p JOIN membership AS g ON g.assembly_id = p.assembly_id AND g.gathered AND g.seq < p.seq
        ANTI JOIN (SELECT * FROM membership WHERE NOT gathered) AS r
            ON r.assembly_id = p.assembly_id AND r.card_unit_id = g.card_unit_id AND r.seq < p.seq
    ),
    -- Small dictionaries, as lists looked up by position: the stations, the distinct payloads of operation
    -- starts (an operation at a station) by hash, the operations cards complete. Aggregating a hash or a
    -- small code instead of a string keeps the per-card state narrow, which is most of the fold's cost.
    dictionaries AS (
        SELECT
            (SELECT list(station_id ORDER BY station_id)
                FROM (SELECT DISTINCT station_id FROM {events} WHERE station_id IS NOT NULL)) AS stations,
            (SELECT list(payload ORDER BY payload)
                FROM (SELECT DISTINCT payload FROM {events}
                      WHERE aggregate_type = 'card_unit' AND event_type = {STARTED})) AS starts,
            (SELECT list(DISTINCT from_json(payload, '{{"operation_id": "VARCHAR"}}').operation_id)
                FROM (SELECT DISTINCT payload FROM {events}
                      WHERE aggregate_type = 'card_unit' AND event_type IN {COMPLETIONS})) AS operations
    ),
    card_events AS (
        SELECT sequence_num AS seq, CASE event_type {_KIND_CASES} ELSE 0 END AS k, occurred_at, card_unit_id,
            hash(station_id) AS station_hash, CAST(NULL AS VARCHAR) AS pack_id,
            CASE WHEN event_type = {REPLACED} THEN payload END AS payload,
            CASE WHEN event_type = {STARTED} THEN hash(payload) END AS started_hash,
            CASE WHEN event_type IN {COMPLETIONS} THEN from_json(payload, {OPERATION_FACTS}) END AS fact
        FROM {events}
        WHERE card_unit_id IS NOT NULL AND (aggregate_type = 'card_unit' OR event_type IN ({GATHERED}, {REMOVED}))
        UNION ALL
        SELECT seq, {_K_PACKED}, occurred_at, card_unit_id, hash(station_id), pack_id, NULL, NULL, NULL
        FROM pack_targets
    ),
    -- A card's creation (once per card), read beside the fold and joined to its row: its facts are wide
    -- (strings), and carried through the GROUP BY they widened every card's state (measured: DECISIONS, ADR-8).
    creations AS (
        SELECT card_unit_id, {{'facts': from_json(payload, {CREATED_FACTS}), 'at': occurred_at}} AS creation
        FROM {events}
        WHERE aggregate_type = 'card_unit' AND event_type = {CREATED} AND card_unit_id IS NOT NULL
    ),
    grouped AS (
        -- Winners are integer maxima of the sequence and values are numbers, hashes or short strings: wide
        -- states (long strings, lists of strings) cost several times more. A card's creation comes first and
        -- resets every field; a void is final (nothing is inserted into, gathered or started on a voided card
        -- afterwards), so a value's presence also says whether this range set its field.
        SELECT card_unit_id,
            arg_max(occurred_at, seq) AS updated_at,
            max(seq) FILTER (WHERE k IN ({_K_STARTED}, {_K_VOIDED}) OR k >= {_K_COMPLETED}) AS active_seq,
            max(seq) FILTER (WHERE k = {_K_STARTED}) AS started_seq,
            arg_max(started_hash, seq) FILTER (WHERE k = {_K_STARTED}) AS started_hash,
            arg_max(station_hash, seq) FILTER (
                WHERE k IN ({_K_STARTED}, {_K_GATHERED}, {_K_PACKED}) OR k >= {_K_COMPLETED}
            ) AS station_hash,
            -- completions as (sequence, operation) packed in one integer, sorted after grouping
            list(seq * 65536 + list_position(d.operations, fact.operation_id))
                FILTER (WHERE {_COMPLETION}) AS completed,
            -- the last QA outcome (PASS or FAIL: decisions refuse any other) and attempt, packed with its
            -- sequence into one integer maximum
            max(seq * 4096 + fact.attempt * 4 + CASE WHEN fact.result = 'PASS' THEN 1 ELSE 2 END)
                FILTER (WHERE k = {_K_QA}) AS qa_last,
            arg_max_null(fact.failure_reason, seq) FILTER (WHERE k = {_K_QA}) AS qa_failure_reason,
            arg_max(fact.serial_number, seq) FILTER (WHERE k = {_K_SERIAL}) AS serial_number,
            arg_max(fact.memorabilia_id, seq) FILTER (WHERE k = {_K_MEMORABILIA}) AS inserted_memorabilia_id,
            arg_max(payload, seq) FILTER (WHERE k = {_K_REPLACED}) AS replaced_payload,
            -- the last gathering or removal, and which it was
            max(seq * 2 + CASE WHEN k = {_K_GATHERED} THEN 1 ELSE 0 END)
                FILTER (WHERE k IN ({_K_GATHERED}, {_K_REMOVED})) AS assembly_last,
            arg_max(pack_id, seq) FILTER (WHERE k = {_K_PACKED}) AS pack_id,
            bool_or(k = {_K_VOIDED}) AS voided
        FROM card_events, dictionaries AS d
        GROUP BY card_unit_id
    )
    SELECT card_unit_id, creation IS NOT NULL AS has_created, creation.at AS created_at, updated_at,
        creation.facts AS created,
        creation IS NOT NULL OR active_seq IS NOT NULL AS has_active,
        CASE WHEN started_seq = active_seq
            THEN from_json(
                d.starts[list_position([hash(s) FOR s IN d.starts], started_hash)], '{{"operation_id": "VARCHAR"}}'
            ).operation_id
        END AS active_operation_id,
        creation IS NOT NULL OR station_hash IS NOT NULL AS has_station,
        d.stations[list_position([hash(s) FOR s IN d.stations], station_hash)] AS current_station_id,
        CASE WHEN completed IS NULL THEN [] ELSE [d.operations[c % 65536] FOR c IN list_sort(completed)] END
            AS completed,
        creation IS NOT NULL OR qa_last IS NOT NULL AS has_qa,
        CASE qa_last % 4 WHEN 1 THEN 'PASS' WHEN 2 THEN 'FAIL' END AS qa_result,
        qa_failure_reason, CAST((qa_last % 4096) // 4 AS INTEGER) AS qa_attempts,
        creation IS NOT NULL OR serial_number IS NOT NULL AS has_serial, serial_number,
        creation IS NOT NULL OR inserted_memorabilia_id IS NOT NULL OR voided AS has_memorabilia,
        CASE WHEN NOT voided THEN inserted_memorabilia_id END AS memorabilia_id,
        creation IS NOT NULL OR replaced_payload IS NOT NULL AS has_replaced,
        from_json(replaced_payload, '{{"replacement_card_unit_id": "VARCHAR"}}').replacement_card_unit_id
            AS replaced_by,
        creation IS NOT NULL OR assembly_last IS NOT NULL AS has_assembly,
        -- a card is only ever gathered into its own sheet's set (A-<sheet>): see merge_sql
        coalesce(assembly_last % 2 = 1, FALSE) AS gathered,
        creation IS NOT NULL OR pack_id IS NOT NULL AS has_pack, pack_id, voided
    FROM grouped LEFT JOIN creations USING (card_unit_id), dictionaries AS d
    """


def merge_sql(partial: str, previous: str | None = None, *, touched_only: bool = False) -> str:
    """The card rows after laying the deltas of `partial` over `previous` (the rows before its range).

    With `touched_only`, only the cards the range touched (what an incremental refresh stores). Without a
    previous state every card's creation is in the range, so the deltas are the rows.
    """
    if previous is None:
        merged = f"""
        SELECT card_unit_id, created.sheet_id, created.job_id, created.position, created.product_id,
            created.serial_run_size, created.replaces, created.printed_on_sheet_id, created_at, updated_at,
            active_operation_id, current_station_id, completed AS completed_operations, qa_result,
            qa_failure_reason, coalesce(qa_attempts, 0) AS qa_attempts, serial_number, memorabilia_id, replaced_by,
            CASE WHEN gathered THEN 'A-' || created.sheet_id END AS assembly_id, pack_id, voided
        FROM ({partial})
        WHERE has_created
        """
    else:
        merged = _merged_sql(partial, previous, "LEFT" if touched_only else "FULL OUTER")
    return f"""
    SELECT card_unit_id, sheet_id, job_id, position, product_id,
        CASE
            WHEN voided THEN 'voided'
            WHEN pack_id IS NOT NULL THEN 'packed'
            WHEN assembly_id IS NOT NULL THEN 'assembled'
            WHEN qa_result = 'PASS' THEN 'qa_passed'
            WHEN qa_result = 'FAIL' THEN 'qa_failed'
            WHEN active_operation_id IS NOT NULL OR len(completed_operations) > 0 THEN 'in_progress'
            ELSE 'created'
        END AS status,
        current_station_id, active_operation_id, completed_operations, qa_result, qa_failure_reason,
        qa_attempts, serial_number, serial_run_size, memorabilia_id, replaces, replaced_by, printed_on_sheet_id,
        assembly_id, pack_id, created_at, updated_at
    FROM ({merged})
    """


def _merged_sql(partial: str, previous: str, join: str) -> str:
    def pick(flag: str, delta: str, column: str) -> str:
        return f"CASE WHEN d.{flag} THEN {delta} ELSE p.{column} END AS {column}"

    return f"""
        SELECT coalesce(d.card_unit_id, p.card_unit_id) AS card_unit_id,
            {pick("has_created", "d.created.sheet_id", "sheet_id")},
            {pick("has_created", "d.created.job_id", "job_id")},
            {pick("has_created", "d.created.position", "position")},
            {pick("has_created", "d.created.product_id", "product_id")},
            {pick("has_created", "d.created.serial_run_size", "serial_run_size")},
            {pick("has_created", "d.created.replaces", "replaces")},
            {pick("has_created", "d.created.printed_on_sheet_id", "printed_on_sheet_id")},
            {pick("has_created", "d.created_at", "created_at")},
            coalesce(d.updated_at, p.updated_at) AS updated_at,
            {pick("has_active", "d.active_operation_id", "active_operation_id")},
            {pick("has_station", "d.current_station_id", "current_station_id")},
            CASE WHEN d.has_created THEN d.completed
                ELSE list_concat(coalesce(p.completed_operations, []), coalesce(d.completed, []))
            END AS completed_operations,
            {pick("has_qa", "d.qa_result", "qa_result")},
            {pick("has_qa", "d.qa_failure_reason", "qa_failure_reason")},
            {pick("has_qa", "coalesce(d.qa_attempts, 0)", "qa_attempts")},
            {pick("has_serial", "d.serial_number", "serial_number")},
            {pick("has_memorabilia", "d.memorabilia_id", "memorabilia_id")},
            {pick("has_replaced", "d.replaced_by", "replaced_by")},
            CASE WHEN d.has_assembly
                THEN CASE WHEN d.gathered
                    THEN 'A-' || CASE WHEN d.has_created THEN d.created.sheet_id ELSE p.sheet_id END END
                ELSE p.assembly_id
            END AS assembly_id,
            {pick("has_pack", "d.pack_id", "pack_id")},
            coalesce(d.voided, FALSE) OR coalesce(p.status = 'voided', FALSE) AS voided
        FROM ({partial}) AS d {join} JOIN {previous} AS p ON p.card_unit_id = d.card_unit_id
        WHERE p.card_unit_id IS NOT NULL OR d.has_created
    """


def card_units_sql(events: str) -> str:
    """Every card unit folded from scratch over `events`."""
    return merge_sql(partial_sql(events))
