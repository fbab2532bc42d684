"""Card units folded with Polars lazy expressions: the second engine held to `core.reference`.

The same fold as `projections.views.card_units` (read its docstring for the reasoning): per card and per
field, the value of the last setter by sequence; `SetPacked` reaches the set's members just before it. It
folds from scratch only; materialization uses the DuckDB fold.
"""

from datetime import UTC

import polars as pl

from core.reference import Cut
from projections.views.sql import CARD_COMPLETIONS

CREATED = "CardUnitCreated"
STARTED = "OperationStarted"
QA = "QAResultRecorded"
SERIAL = "SerialNumberApplied"
MEMORABILIA = "MemorabiliaInserted"
VOIDED = "CardUnitVoided"
REPLACED = "CardUnitReplaced"
GATHERED = "CardUnitGathered"
REMOVED = "CardUnitRemovedFromSet"
PACKED = "SetPacked"
OPENED = "AssemblyOpened"


def admitted(events: pl.LazyFrame, cut: Cut | None) -> pl.LazyFrame:
    """The events `cut` admits (all of them without a cut)."""
    if cut is None:
        return events
    condition = pl.lit(True)
    if cut.as_of is not None:
        condition &= pl.col("occurred_at") <= cut.as_of.astimezone(UTC)
    if cut.known_at is not None:
        condition &= pl.col("recorded_at") <= cut.known_at.astimezone(UTC)
    if cut.up_to_sequence is not None:
        condition &= pl.col("sequence_num") <= cut.up_to_sequence
    return events.filter(condition)


def _field(name: str) -> pl.Expr:
    return pl.col("payload").str.json_path_match(f"$.{name}")


def _last(value: pl.Expr, *setters: str, completions: bool = False) -> pl.Expr:
    """The value at the last event (by sequence) among the setters: rows are sorted by sequence beforehand."""
    setter = pl.col("event_type").is_in(list(setters))
    if completions:
        setter |= pl.col("event_type").is_in(list(CARD_COMPLETIONS))
    return value.filter(setter).last()


def _touched(*setters: str, completions: bool = False) -> pl.Expr:
    setter = pl.col("event_type").is_in(list(setters))
    if completions:
        setter |= pl.col("event_type").is_in(list(CARD_COMPLETIONS))
    return setter.any()


def card_units(events: pl.LazyFrame, cut: Cut | None = None) -> pl.LazyFrame:
    """Every card unit as of `cut`, from a frame with the lake columns; one row per card, like the DuckDB fold."""
    events = admitted(events, cut).rename({"sequence_num": "seq"})
    assembly_events = events.filter(pl.col("aggregate_type") == "assembly")
    membership = assembly_events.filter(
        pl.col("event_type").is_in([GATHERED, REMOVED]) & pl.col("card_unit_id").is_not_null()
    ).select(
        pl.col("aggregate_id").alias("assembly_id"),
        "card_unit_id",
        pl.col("seq").alias("member_seq"),
        (pl.col("event_type") == GATHERED).alias("gathered"),
    )
    opened = assembly_events.filter(pl.col("event_type") == OPENED).select(pl.col("aggregate_id").alias("assembly_id"))
    packed = assembly_events.filter(pl.col("event_type") == PACKED).join(
        opened.unique(), left_on="aggregate_id", right_on="assembly_id", how="semi"
    )
    pack_targets = (
        packed.select(
            "seq",
            "occurred_at",
            pl.col("aggregate_id").alias("assembly_id"),
            _field("pack_id").alias("pack_id"),
            _field("station_id").alias("pack_station_id"),
        )
        .join(membership, on="assembly_id")
        .filter(pl.col("member_seq") < pl.col("seq"))
        .sort("member_seq")
        .group_by("seq", "card_unit_id")
        .agg(
            pl.col("occurred_at").first(),
            pl.col("pack_id").first(),
            pl.col("pack_station_id").first(),
            pl.col("gathered").last(),
        )
        .filter(pl.col("gathered"))
        .select(
            "seq",
            pl.lit(PACKED).alias("event_type"),
            "occurred_at",
            "card_unit_id",
            pl.lit(None, pl.String).alias("aggregate_id"),
            pl.lit(None, pl.String).alias("payload"),
            "pack_id",
            "pack_station_id",
        )
    )
    card_events = events.filter(
        pl.col("card_unit_id").is_not_null()
        & ((pl.col("aggregate_type") == "card_unit") | pl.col("event_type").is_in([GATHERED, REMOVED]))
    ).select(
        "seq",
        "event_type",
        "occurred_at",
        "card_unit_id",
        "aggregate_id",
        "payload",
        pl.lit(None, pl.String).alias("pack_id"),
        pl.lit(None, pl.String).alias("pack_station_id"),
    )
    is_completion = pl.col("event_type").is_in(list(CARD_COMPLETIONS))
    facts = (
        pl.concat([card_events, pack_targets])
        .with_columns(
            pl.when(is_completion).then(_field("operation_id")).alias("operation_id"),
            pl.when(is_completion).then(_field("result")).alias("result"),
            pl.when(pl.col("event_type").is_in([STARTED, GATHERED]) | is_completion)
            .then(_field("station_id"))
            .otherwise(pl.col("pack_station_id"))
            .alias("station_id"),
        )
        .sort("seq")
    )
    et = pl.col("event_type")
    grouped = facts.group_by("card_unit_id").agg(
        (et == CREATED).any().alias("has_created"),
        _last(pl.col("payload"), CREATED).alias("created_payload"),
        _last(pl.col("occurred_at"), CREATED).alias("created_at"),
        pl.col("occurred_at").last().alias("updated_at"),
        _last(pl.when(et == STARTED).then(_field("operation_id")), CREATED, STARTED, VOIDED, completions=True).alias(
            "active_operation_id"
        ),
        _last(pl.col("station_id"), CREATED, STARTED, GATHERED, PACKED, completions=True).alias("current_station_id"),
        pl.col("operation_id")
        .filter(is_completion & ((et != QA) | (pl.col("result") == "PASS")))
        .alias("completed_operations"),
        _last(pl.when(et == QA).then(pl.col("result")), CREATED, QA).alias("qa_result"),
        _last(pl.when(et == QA).then(_field("failure_reason")), CREATED, QA).alias("qa_failure_reason"),
        _last(pl.when(et == QA).then(_field("attempt").cast(pl.Int32)), CREATED, QA).alias("qa_attempts"),
        _last(pl.when(et == SERIAL).then(_field("serial_number").cast(pl.Int32)), CREATED, SERIAL).alias(
            "serial_number"
        ),
        _last(pl.when(et == MEMORABILIA).then(_field("memorabilia_id")), CREATED, MEMORABILIA, VOIDED).alias(
            "memorabilia_id"
        ),
        _last(pl.when(et == REPLACED).then(_field("replacement_card_unit_id")), CREATED, REPLACED).alias("replaced_by"),
        _last(pl.when(et == GATHERED).then(pl.col("aggregate_id")), CREATED, GATHERED, REMOVED).alias("assembly_id"),
        _last(pl.col("pack_id"), CREATED, PACKED).alias("pack_id"),
        (et == VOIDED).any().alias("voided"),
    )
    created = pl.col("created_payload")
    cards = grouped.filter(pl.col("has_created")).with_columns(
        created.str.json_path_match("$.sheet_id").alias("sheet_id"),
        created.str.json_path_match("$.job_id").alias("job_id"),
        created.str.json_path_match("$.position").cast(pl.Int32).alias("position"),
        created.str.json_path_match("$.product_id").alias("product_id"),
        created.str.json_path_match("$.serial_run_size").cast(pl.Int32).alias("serial_run_size"),
        created.str.json_path_match("$.replaces").alias("replaces"),
        created.str.json_path_match("$.printed_on_sheet_id").alias("printed_on_sheet_id"),
        pl.col("qa_attempts").fill_null(0),
    )
    status = (
        pl.when(pl.col("voided"))
        .then(pl.lit("voided"))
        .when(pl.col("pack_id").is_not_null())
        .then(pl.lit("packed"))
        .when(pl.col("assembly_id").is_not_null())
        .then(pl.lit("assembled"))
        .when(pl.col("qa_result") == "PASS")
        .then(pl.lit("qa_passed"))
        .when(pl.col("qa_result") == "FAIL")
        .then(pl.lit("qa_failed"))
        .when(pl.col("active_operation_id").is_not_null() | (pl.col("completed_operations").list.len() > 0))
        .then(pl.lit("in_progress"))
        .otherwise(pl.lit("created"))
    )
    return cards.select(
        "card_unit_id",
        "sheet_id",
        "job_id",
        "position",
        "product_id",
        status.alias("status"),
        "current_station_id",
        "active_operation_id",
        "completed_operations",
        "qa_result",
        "qa_failure_reason",
        "qa_attempts",
        "serial_number",
        "serial_run_size",
        "memorabilia_id",
        "replaces",
        "replaced_by",
        "printed_on_sheet_id",
        "assembly_id",
        "pack_id",
        "created_at",
        "updated_at",
    )
