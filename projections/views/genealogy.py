"""Genealogy: the lineage graph job -> sheets -> card units -> replacements -> set -> pack, as edges.

Every edge comes from the folded read models, so it honours the cut like they do: a card removed from its
set (voided) no longer points at it; its replacement does. `lineage_sql` walks the graph from any id both
ways: down to what it became, up to what it came from (from a pack: the set, its cards, their sheet and
job, and the voided originals a replacement stands in for).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from core.reference import ReferenceViews
from projections.views.sql import quote


def genealogy_sql(card_units: str = "card_units", sheets: str = "sheets", assemblies: str = "assemblies") -> str:
    return f"""
    WITH
    cards AS MATERIALIZED (
        SELECT card_unit_id, sheet_id, replaces, printed_on_sheet_id, assembly_id, memorabilia_id FROM {card_units}
    ),
    sets AS MATERIALIZED (SELECT assembly_id, sheet_id, pack_id FROM {assemblies})
    SELECT 'job' AS parent_type, job_id AS parent_id, 'has_sheet' AS relation, 'sheet' AS child_type,
        sheet_id AS child_id
    FROM {sheets}
    UNION ALL
    SELECT 'sheet', sheet_id, 'cut_into', 'card_unit', card_unit_id FROM cards WHERE replaces IS NULL
    UNION ALL
    SELECT 'card_unit', replaces, 'replaced_by', 'card_unit', card_unit_id FROM cards WHERE replaces IS NOT NULL
    UNION ALL
    SELECT 'sheet', printed_on_sheet_id, 'reprinted_on', 'card_unit', card_unit_id
    FROM cards WHERE printed_on_sheet_id IS NOT NULL
    UNION ALL
    SELECT 'card_unit', card_unit_id, 'gathered_into', 'assembly', assembly_id FROM cards WHERE assembly_id IS NOT NULL
    UNION ALL
    SELECT 'card_unit', card_unit_id, 'holds', 'memorabilia', memorabilia_id FROM cards WHERE memorabilia_id IS NOT NULL
    UNION ALL
    SELECT 'sheet', sheet_id, 'assembled_as', 'assembly', assembly_id FROM sets
    UNION ALL
    SELECT 'assembly', assembly_id, 'packed_into', 'pack', pack_id FROM sets WHERE pack_id IS NOT NULL
    """


def lineage_sql(entity_id: str, genealogy: str = "genealogy") -> str:
    """The edges reachable from `entity_id` downwards (`descendant`) and upwards (`ancestor`), each once."""
    root = quote(entity_id)
    return f"""
    WITH RECURSIVE
    down(node, depth) AS (
        SELECT {root}, 0
        UNION
        SELECT g.child_id, d.depth + 1 FROM down AS d JOIN {genealogy} AS g ON g.parent_id = d.node
    ),
    up(node, depth) AS (
        SELECT {root}, 0
        UNION
        SELECT g.parent_id, u.depth + 1 FROM up AS u JOIN {genealogy} AS g ON g.child_id = u.node
    )
    SELECT 'descendant' AS direction, g.*, min(d.depth) AS depth
    FROM {genealogy} AS g JOIN down AS d ON g.parent_id = d.node
    GROUP BY ALL
    UNION ALL
    SELECT 'ancestor' AS direction, g.*, min(u.depth) AS depth
    FROM {genealogy} AS g JOIN up AS u ON g.child_id = u.node
    GROUP BY ALL
    ORDER BY direction, depth, parent_id, child_id, relation
    """


# --- the same graph for one family, from core's reference views (see projections.lake_api) ----------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Edge:
    parent_type: str
    parent_id: str
    relation: str
    child_type: str
    child_id: str


def reference_edges(views: ReferenceViews) -> list[Edge]:
    """`genealogy_sql`'s edges, from reference views (a family's: a handful of entities)."""
    edges = [
        Edge(parent_type="job", parent_id=s.job_id, relation="has_sheet", child_type="sheet", child_id=s.sheet_id)
        for s in views.sheets.values()
    ]
    for card in views.card_units.values():
        if card.replaces is None:
            edges.append(_edge("sheet", card.sheet_id, "cut_into", "card_unit", card.card_unit_id))
        else:
            edges.append(_edge("card_unit", card.replaces, "replaced_by", "card_unit", card.card_unit_id))
        if card.printed_on_sheet_id is not None:
            edges.append(_edge("sheet", card.printed_on_sheet_id, "reprinted_on", "card_unit", card.card_unit_id))
        if card.assembly_id is not None:
            edges.append(_edge("card_unit", card.card_unit_id, "gathered_into", "assembly", card.assembly_id))
        if card.memorabilia_id is not None:
            edges.append(_edge("card_unit", card.card_unit_id, "holds", "memorabilia", card.memorabilia_id))
    for assembly in views.assemblies.values():
        edges.append(_edge("sheet", assembly.sheet_id, "assembled_as", "assembly", assembly.assembly_id))
        if assembly.pack_id is not None:
            edges.append(_edge("assembly", assembly.assembly_id, "packed_into", "pack", assembly.pack_id))
    return edges


def _edge(parent_type: str, parent_id: str, relation: str, child_type: str, child_id: str) -> Edge:
    return Edge(
        parent_type=parent_type, parent_id=parent_id, relation=relation, child_type=child_type, child_id=child_id
    )


def lineage(edges: Sequence[Edge], root: str) -> list[dict[str, object]]:
    """`lineage_sql` over the given edges: rows (direction, edge, depth) in the same order."""
    children: dict[str, list[Edge]] = {}
    parents: dict[str, list[Edge]] = {}
    for edge in dict.fromkeys(edges):  # an edge once, even if two folds produced it
        children.setdefault(edge.parent_id, []).append(edge)
        parents.setdefault(edge.child_id, []).append(edge)
    rows: dict[tuple[str, Edge], int] = {}
    for direction, links in (("descendant", children), ("ancestor", parents)):
        depth_of = {root: 0}
        frontier = [root]
        while frontier:
            reached: list[str] = []
            for node in frontier:
                for edge in links.get(node, ()):
                    key = (direction, edge)
                    rows[key] = min(rows.get(key, depth_of[node]), depth_of[node])
                    end = edge.child_id if direction == "descendant" else edge.parent_id
                    if end not in depth_of:
                        depth_of[end] = depth_of[node] + 1
                        reached.append(end)
            frontier = reached
    ordered = sorted(rows.items(), key=lambda r: (r[0][0], r[1], r[0][1].parent_id, r[0][1].child_id, r[0][1].relation))
    return [
        {
            "direction": direction,
            "parent_type": edge.parent_type,
            "parent_id": edge.parent_id,
            "relation": edge.relation,
            "child_type": edge.child_type,
            "child_id": edge.child_id,
            "depth": depth,
        }
        for (direction, edge), depth in ordered
    ]
