"""Traceability: one search box for any id or scanned barcode, and the answer drawn for what it names."""

import altair as alt
import polars as pl
import streamlit as st

from apps.dashboard import data

QUERY_KEY = "trace_query"
LINKED_KEY = "trace_linked"
SHEETS_PER_VIEW = 24

CARD_STATUS_COLOURS = {
    "created": "#bab0ac",
    "in_progress": "#4c78a8",
    "qa_passed": "#72b7b2",
    "qa_failed": "#f58518",
    "voided": "#e45756",
    "assembled": "#b279a2",
    "packed": "#54a24b",
}
POSITION_STATE_COLOURS = {
    "present": "#54a24b",
    "replacement": "#72b7b2",
    "missing": "#bab0ac",
    "absent past timeout": "#e45756",
}
GENEALOGY_LEVELS = {"job": 0, "sheet": 1, "card_unit": 2, "assembly": 3, "pack": 4}
LEVEL_NAMES = ["job", "sheets", "cards", "sets", "packs"]


def follow_link() -> None:
    """An alert's link (`?q=A-J1044-S003`) fills the search box once."""
    link = st.query_params.get("q")
    if link and st.session_state.get(LINKED_KEY) != link:
        st.session_state[QUERY_KEY] = link
        st.session_state[LINKED_KEY] = link


def remember_query() -> None:
    query = str(st.session_state.get(QUERY_KEY, "")).strip()
    st.query_params["q"] = query
    st.session_state[LINKED_KEY] = query


def open_entity(entity_id: str | None) -> None:
    if entity_id:
        st.session_state[QUERY_KEY] = entity_id
        remember_query()


def drill_down(label: str, entity_ids: list[str], key: str) -> None:
    """A picker that opens the chosen id in the search box."""
    if entity_ids:
        st.selectbox(
            label,
            entity_ids,
            index=None,
            key=key,
            placeholder="Choose one to open it",
            on_change=lambda: open_entity(st.session_state.get(key)),
        )


def position_grid(frame: pl.DataFrame, n_up: int, colour: str, colours: dict[str, str], title: str) -> alt.LayerChart:
    """Positions laid out as on the sheet (rows of `n_up / 3` where it divides), coloured by `colour`."""
    columns = n_up // 3 if n_up % 3 == 0 else max(1, round(n_up**0.5))
    base = alt.Chart(frame.to_pandas(), title=title).transform_calculate(
        column=f"(datum.position - 1) % {columns}", row=f"floor((datum.position - 1) / {columns})"
    )
    cells = base.mark_rect(stroke="white", strokeWidth=3, cornerRadius=4).encode(
        x=alt.X("column:O", axis=None),
        y=alt.Y("row:O", axis=None),
        color=alt.Color(
            f"{colour}:N",
            scale=alt.Scale(domain=list(colours), range=list(colours.values())),
            legend=alt.Legend(orient="bottom", title=None),
        ),
        tooltip=[c for c in frame.columns if frame[c].dtype != pl.List],
    )
    labels = base.mark_text(fontSize=14, fontWeight="bold", color="white").encode(
        x="column:O", y="row:O", text=alt.Text("position:Q", format="02d")
    )
    grid: alt.LayerChart = (cells + labels).properties(height=70 * ((n_up + columns - 1) // columns) + 60)
    return grid


def show_card(found: data.CardTrace) -> None:
    card = found.card
    st.subheader(f"Card unit {card['card_unit_id']}")
    status, station, qa, serial, memorabilia = st.columns([1, 1.5, 1, 1, 1.2])
    status.metric("Status", card["status"])
    station.metric("Station", card["current_station_id"] or "—")
    qa.metric(
        "QA",
        card["qa_result"] or "not inspected",
        f"{card['qa_attempts']} attempt(s)",
        delta_color="off",
        delta_arrow="off",
    )
    serial.metric("Serial number", found.serial_label or "—")
    memorabilia.metric("Memorabilia", card["memorabilia_id"] or "—")

    st.markdown("**Lineage**")
    lineage = [
        ("Job", card["job_id"]),
        ("Sheet", card["sheet_id"]),
        ("Replaces", card["replaces"]),
        ("Replaced by", card["replaced_by"]),
        ("Make-up sheet", card["printed_on_sheet_id"]),
        ("Set", card["assembly_id"]),
        ("Pack", card["pack_id"]),
    ]
    links = [(label, entity) for label, entity in lineage if entity]
    for column, (label, entity) in zip(st.columns(len(links)), links, strict=True):
        column.button(f"{label}: {entity}", key=f"lineage_{label}", on_click=open_entity, args=(entity,))
    st.caption(f"Position {card['position']:02d} of {card['sheet_id']}, product {card['product_id']}.")

    st.markdown("**Timeline**")
    st.dataframe(
        found.timeline,
        hide_index=True,
        column_config={
            "occurred_at": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "recorded_at": st.column_config.DatetimeColumn("Recorded (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "event_type": "Event",
            "station_id": "Station",
            "operator_id": "Operator",
            "outcome": st.column_config.TextColumn("Outcome", width="large"),
        },
    )
    st.markdown(f"**QA attempts** ({found.qa_attempts.height})")
    if found.qa_attempts.height:
        st.dataframe(
            found.qa_attempts,
            hide_index=True,
            column_config={
                "attempt": "Attempt",
                "occurred_at": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm"),
                "station_id": "Bench",
                "operator_id": "Operator",
                "result": "Result",
                "failure_reason": "Reason",
                "failure_codes": "Codes",
            },
        )
    else:
        st.caption("Not inspected yet.")


def show_sheet(found: data.SheetTrace) -> None:
    sheet = found.sheet
    st.subheader(f"Sheet {sheet['sheet_id']}")
    status, station, done, product = st.columns(4)
    status.metric("Status", sheet["status"])
    station.metric("Station", sheet["current_station_id"] or "—")
    done.metric("Operations done", ", ".join(sheet["completed_operations"]) or "none")
    product.metric("Product", sheet["product_id"], f"{sheet['n_up']}-up", delta_color="off", delta_arrow="off")
    st.button(f"Job: {sheet['job_id']}", on_click=open_entity, args=(sheet["job_id"],))
    if found.cards.height == 0:
        st.info(f"Not cut yet: its {sheet['n_up']} card units are born at the cut.")
        return
    st.altair_chart(
        position_grid(found.cards, int(sheet["n_up"]), "status", CARD_STATUS_COLOURS, "Its card units by position"),
        width="stretch",
    )
    st.dataframe(found.cards, hide_index=True, height="content")
    drill_down("Open a card unit", found.cards["card_unit_id"].to_list(), "sheet_drill")


def show_set(found: data.SetTrace) -> None:
    assembly = found.assembly
    st.subheader(f"Set {assembly['assembly_id']}")
    status, present, missing, overdue = st.columns(4)
    status.metric("Status", assembly["status"])
    present.metric("Present", f"{len(assembly['present_positions'])} of {assembly['expected_count']}")
    missing.metric("Missing positions", len(assembly["missing_positions"]))
    overdue.metric("Absent past timeout", len(assembly["absent_past_timeout"]))
    if assembly["absent_past_timeout"]:
        st.error(
            f"Positions {', '.join(f'{p:02d}' for p in assembly['absent_past_timeout'])} are still absent "
            f"since {assembly['absent_alert_at']:%Y-%m-%d %H:%M} UTC (opened at {assembly['station_id']}).",
            icon=":material/notification_important:",
        )
    st.caption(f"Opened at {assembly['station_id']} on {assembly['opened_at']:%Y-%m-%d %H:%M} UTC.")
    columns = st.columns(3)
    columns[0].button(f"Sheet: {assembly['sheet_id']}", on_click=open_entity, args=(assembly["sheet_id"],))
    columns[1].button(f"Job: {assembly['job_id']}", on_click=open_entity, args=(assembly["job_id"],))
    if assembly["pack_id"]:
        columns[2].button(f"Pack: {assembly['pack_id']}", on_click=open_entity, args=(assembly["pack_id"],))
    st.altair_chart(
        position_grid(found.positions, int(assembly["expected_count"]), "state", POSITION_STATE_COLOURS, "Positions"),
        width="stretch",
    )
    st.dataframe(found.positions, hide_index=True, height="content")
    drill_down("Open a card unit", found.positions["card_unit_id"].drop_nulls().to_list(), "set_drill")


def show_pack(found: data.PackTrace) -> None:
    packing = found.packing
    st.subheader(f"Pack {found.pack_id}")
    packed, station, cards, override = st.columns(4)
    packed.metric("Packed", f"{packing['occurred_at']:%Y-%m-%d %H:%M}" if packing else "—")
    station.metric("Station", packing.get("station_id") or "—")
    cards.metric("Card units", found.cards.height)
    override.metric("Override", "yes" if packing.get("override_reason") else "no")
    if packing.get("override_reason"):
        st.warning(
            f"Packed under {packing.get('authorized_by')}'s override: {packing['override_reason']}",
            icon=":material/verified_user:",
        )
    st.button(f"Set: {found.assembly['assembly_id']}", on_click=open_entity, args=(found.assembly["assembly_id"],))
    st.dataframe(found.cards, hide_index=True, height="content")
    drill_down("Open a card unit", found.cards["card_unit_id"].to_list(), "pack_drill")


def genealogy_chart(edges: pl.DataFrame, expanded_sheet: str | None, sheets: list[str]) -> alt.LayerChart:
    """The lineage as columns job -> sheets -> cards -> sets -> packs; cards only for the expanded sheet."""
    shown_sheets = set(sheets)
    keep = edges.filter(
        pl.col("parent_type").is_in(list(GENEALOGY_LEVELS)) & pl.col("child_type").is_in(list(GENEALOGY_LEVELS))
    ).filter(
        ((pl.col("parent_type") != "sheet") | pl.col("parent_id").is_in(shown_sheets))
        & ((pl.col("child_type") != "sheet") | pl.col("child_id").is_in(shown_sheets))
    )
    cards = set(
        keep.filter((pl.col("relation") == "cut_into") & (pl.col("parent_id") == (expanded_sheet or "")))[
            "child_id"
        ].to_list()
    )
    cards |= set(keep.filter(pl.col("relation").is_in(["replaced_by"]) & pl.col("parent_id").is_in(cards))["child_id"])
    sets = set(keep.filter(pl.col("relation") == "assembled_as")["child_id"].to_list())
    keep = keep.filter(
        ((pl.col("parent_type") != "card_unit") | pl.col("parent_id").is_in(cards))
        & ((pl.col("child_type") != "card_unit") | pl.col("child_id").is_in(cards))
        & ((pl.col("child_type") != "assembly") | pl.col("child_id").is_in(sets))
        & ((pl.col("parent_type") != "assembly") | pl.col("parent_id").is_in(sets))
    )
    nodes = (
        pl.concat(
            [
                keep.select(pl.col("parent_id").alias("node"), pl.col("parent_type").alias("kind")),
                keep.select(pl.col("child_id").alias("node"), pl.col("child_type").alias("kind")),
            ]
        )
        .unique()
        .with_columns(level=pl.col("kind").replace_strict(GENEALOGY_LEVELS, return_dtype=pl.Int64))
        .sort("level", "node")
        .with_columns(rank=pl.col("node").cum_count().over("level") - 1)
        .with_columns(
            y=(pl.col("rank") + 0.5) / pl.col("rank").max().over("level").add(1),
            column=pl.col("level").replace_strict(dict(enumerate(LEVEL_NAMES)), return_dtype=pl.String),
        )
    )
    place = nodes.select("node", "level", "y")
    lines = (
        keep.join(place, left_on="parent_id", right_on="node")
        .rename({"level": "x1", "y": "y1"})
        .join(place, left_on="child_id", right_on="node")
        .rename({"level": "x2", "y": "y2"})
    )
    x = alt.X(
        "x:Q",
        scale=alt.Scale(domain=[-0.2, 4.8]),
        axis=alt.Axis(values=list(range(5)), labelExpr=f"{LEVEL_NAMES}[datum.value]", title=None, grid=False),
    )
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0, 1], reverse=True))
    links = (
        alt.Chart(lines.rename({"x1": "x", "y1": "y"}).to_pandas())
        .mark_rule(opacity=0.35)
        .encode(x=x, y=y, x2="x2:Q", y2="y2:Q", tooltip=["parent_id", "relation", "child_id"])
    )
    placed = nodes.rename({"level": "x"}).to_pandas()
    points = (
        alt.Chart(placed)
        .mark_circle(size=140, opacity=1)
        .encode(x=x, y=y, color=alt.Color("column:N", legend=None), tooltip=["node", "kind"])
    )
    labels = alt.Chart(placed).mark_text(align="left", dx=9, fontSize=11).encode(x=x, y=y, text="node")
    rows = int(nodes.select(pl.col("rank").max()).item()) + 1 if nodes.height else 1
    graph: alt.LayerChart = (links + points + labels).properties(height=max(240, 22 * rows))
    return graph


def show_job(found: data.JobTrace) -> None:
    job = found.job
    st.subheader(f"Job {job['job_id']}")
    product, customer, due, progress = st.columns(4)
    product.metric("Product", job["product_id"])
    customer.metric("Customer", job["customer"])
    due.metric("Due", job["due_date"])
    progress.metric("Sets packed", f"{job['sets_packed']} of {job['total_sheets']}", f"{job['percent_complete']:.0f}%")
    cut, complete, cards = st.columns(3)
    cut.metric("Sheets cut", job["sheets_cut"])
    complete.metric("Sets complete", job["sets_complete"])
    cards.metric(
        "Card units",
        int(found.cards_by_status["cards"].sum()),
        f"{job['total_cards']} planned, replacements besides",
        delta_color="off",
        delta_arrow="off",
    )
    st.altair_chart(
        alt.Chart(found.cards_by_status.to_pandas(), title="Card units by status")
        .mark_bar()
        .encode(
            x=alt.X("cards:Q", title="card units"),
            y=alt.Y("status:N", sort=list(CARD_STATUS_COLOURS), title=None),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=list(CARD_STATUS_COLOURS), range=list(CARD_STATUS_COLOURS.values())),
                legend=None,
            ),
            tooltip=["status", "cards"],
        )
        .properties(height=260),
        width="stretch",
    )

    st.markdown("**Genealogy**")
    sheets = sorted(found.genealogy.filter(pl.col("relation") == "has_sheet")["child_id"].to_list())
    if not sheets:
        st.caption("No sheets yet.")
        return
    pages = [sheets[i : i + SHEETS_PER_VIEW] for i in range(0, len(sheets), SHEETS_PER_VIEW)]
    window, expand = st.columns(2)
    page = window.selectbox(
        "Sheets shown",
        range(len(pages)),
        format_func=lambda i: f"{pages[i][0]} … {pages[i][-1]}",
        disabled=len(pages) == 1,
        key="genealogy_window",
    )
    shown = pages[page or 0]
    expanded = expand.selectbox("Expand a sheet's card units", shown, index=0, key="genealogy_expand")
    st.altair_chart(genealogy_chart(found.genealogy, expanded, shown), width="stretch")
    nodes = sorted(set(found.genealogy["child_id"].to_list()))
    drill_down("Open anything in this job", nodes, "job_drill")


st.title("Traceability")
cut = data.time_cut()
follow_link()
query = st.text_input(
    "Search",
    key=QUERY_KEY,
    on_change=remember_query,
    placeholder="Scan or type an id: J1044, J1044-S003, J1044-S003-07, J1044-S003-07-R1, A-J1044-S003, J1044-P0001",
)
if not query.strip():
    st.info("Scan a barcode or type the id of a job, sheet, card unit, set, pack or memorabilia item.")
else:
    try:
        found = data.trace(query, cut)
    except data.SearchRefused as refusal:
        st.warning(str(refusal), icon=":material/search_off:")
    else:
        match found:
            case data.CardTrace():
                show_card(found)
            case data.SheetTrace():
                show_sheet(found)
            case data.SetTrace():
                show_set(found)
            case data.PackTrace():
                show_pack(found)
            case data.JobTrace():
                show_job(found)
