"""Station queues and load: `core.reference.station_queues` from the read models and each product's DAG.

Waiting work is shared by a station type (an entity whose next operation — not done, its same-entity
predecessors done — is done at that type); work in progress belongs to the station it started at. Both are
counted in units and in standard minutes, summed as exact decimals and rounded to 6 places like the
reference. The factory's operations become a small table (`station_operations`) the queue joins against.
"""

from core.factory import Factory
from projections.views.sql import quote


def _decimal(value: float) -> str:
    return f"CAST({quote(repr(value))} AS DECIMAL(18, 6))"


def _text_list(values: tuple[str, ...]) -> str:
    return "CAST([" + ", ".join(quote(v) for v in values) + "] AS VARCHAR[])"


def station_operations_sql(factory: Factory) -> str:
    """One row per (product, operation): entity, station type, standard minutes and same-entity predecessors."""
    rows = []
    for product in factory.products:
        for order, operation in enumerate(product.operations):
            own = {op.operation_id for op in product.operations if op.entity == operation.entity}
            predecessors = tuple(p for p in operation.predecessors if p in own)
            rows.append(
                f"({quote(product.product_id)}, {quote(operation.operation_id)}, {quote(operation.entity)}, "
                f"{quote(operation.kind)}, {quote(operation.station_type)}, {_decimal(operation.standard_minutes)}, "
                f"{_text_list(predecessors)}, {order})"
            )
    return f"""
    SELECT * FROM (VALUES {", ".join(rows)})
        AS o(product_id, operation_id, entity, kind, station_type, standard_minutes, own_predecessors, operation_order)
    """


def _stations_sql(factory: Factory) -> str:
    rows = ", ".join(
        f"({quote(s.station_id)}, {quote(s.station_type)}, {order})" for order, s in enumerate(factory.stations)
    )
    return f"(SELECT * FROM (VALUES {rows}) AS s(station_id, station_type, station_order))"


def station_queue_sql(
    factory: Factory,
    card_units: str = "card_units",
    sheets: str = "sheets",
    assemblies: str = "assemblies",
    operations: str = "station_operations",
) -> str:
    return f"""
    WITH
    -- each read model is read once (a view named twice would be folded twice)
    all_sheets AS MATERIALIZED (
        SELECT sheet_id, product_id, status, active_operation_id, current_station_id, completed_operations
        FROM {sheets}
    ),
    sheet_work AS (
        SELECT * FROM all_sheets WHERE status <> 'cut'
    ),
    card_work AS MATERIALIZED (
        SELECT card_unit_id, product_id, active_operation_id, current_station_id, completed_operations,
            qa_result, qa_attempts
        FROM {card_units}
        WHERE status NOT IN ('voided', 'assembled', 'packed')
    ),
    active AS (
        SELECT w.current_station_id AS station_id, w.sheet_id AS entity_id, o.standard_minutes
        FROM sheet_work AS w JOIN {operations} AS o
            ON o.product_id = w.product_id AND o.operation_id = w.active_operation_id
        WHERE w.current_station_id IS NOT NULL
        UNION ALL
        SELECT w.current_station_id, w.card_unit_id, o.standard_minutes
        FROM card_work AS w JOIN {operations} AS o
            ON o.product_id = w.product_id AND o.operation_id = w.active_operation_id
        WHERE w.current_station_id IS NOT NULL
    ),
    waiting AS (
        SELECT o.station_type, w.sheet_id AS entity_id, o.standard_minutes
        FROM sheet_work AS w JOIN {operations} AS o ON o.product_id = w.product_id AND o.entity = 'sheet'
        WHERE (w.active_operation_id IS NULL OR w.current_station_id IS NULL)
            AND NOT list_contains(w.completed_operations, o.operation_id)
            AND list_has_all(w.completed_operations, o.own_predecessors)
        UNION ALL
        SELECT o.station_type, w.card_unit_id, o.standard_minutes
        FROM card_work AS w JOIN {operations} AS o ON o.product_id = w.product_id AND o.entity = 'card_unit'
        WHERE (w.active_operation_id IS NULL OR w.current_station_id IS NULL)
            AND NOT (w.qa_result = 'FAIL' AND w.qa_attempts >= {int(factory.qa_max_attempts)})
            AND NOT list_contains(w.completed_operations, o.operation_id)
            AND list_has_all(w.completed_operations, o.own_predecessors)
        UNION ALL
        SELECT o.station_type, a.assembly_id, o.standard_minutes
        FROM {assemblies} AS a
        JOIN all_sheets AS s ON s.sheet_id = a.sheet_id
        JOIN (
            SELECT * FROM {operations} WHERE entity = 'assembly'
            QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY operation_order) = 1
        ) AS o ON o.product_id = s.product_id
        WHERE a.status = 'complete'
    )
    SELECT s.station_id, s.station_type,
        coalesce(w.entities, []) AS waiting,
        coalesce(i.entities, []) AS in_progress,
        coalesce(w.units, 0) AS waiting_units,
        coalesce(i.units, 0) AS in_progress_units,
        CAST(round(coalesce(w.minutes, 0), 6) AS DOUBLE) AS waiting_minutes,
        CAST(round(coalesce(i.minutes, 0), 6) AS DOUBLE) AS in_progress_minutes
    FROM {_stations_sql(factory)} AS s
    LEFT JOIN (
        SELECT station_type, list(entity_id ORDER BY entity_id) AS entities, count(*) AS units,
            sum(standard_minutes) AS minutes
        FROM waiting GROUP BY station_type
    ) AS w USING (station_type)
    LEFT JOIN (
        SELECT station_id, list(entity_id ORDER BY entity_id) AS entities, count(*) AS units,
            sum(standard_minutes) AS minutes
        FROM active GROUP BY station_id
    ) AS i USING (station_id)
    ORDER BY s.station_order
    """
