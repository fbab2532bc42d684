"""Quality and anomalies (analysts, supervisors): slow operations, QA failure rates, what the detectors flag."""

from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from apps.dashboard import data

TRACEABILITY = "app_pages/traceability.py"
INSPECTION_COLUMNS: dict[str, Any] = {
    "card_unit_id": "Card unit",
    "inspected_at": st.column_config.DatetimeColumn("Inspected (UTC)", format="ddd DD MMM HH:mm"),
    "station_id": "Bench",
    "operator_id": "Operator",
    "attempt": "Attempt",
    "result": "Result",
    "failure_reason": "Reason",
}


def open_in_traceability(entity_id: str) -> None:
    st.page_link(
        TRACEABILITY, label=f"Open {entity_id} in Traceability", icon=":material/search:", query_params={"q": entity_id}
    )


def show_cards_of(entity_id: str, cut: data.TimeCut) -> None:
    cards = data.cards_of(entity_id, cut)
    st.caption(f"{cards.height} card unit(s) behind {entity_id}")
    st.dataframe(cards, hide_index=True)
    open_in_traceability(entity_id)


def show_inspections(inspections: pl.DataFrame, label: str) -> None:
    failed = inspections.filter(pl.col("result") == "FAIL").height
    st.caption(f"{inspections.height} inspection(s) behind {label}, {failed} failed")
    st.dataframe(inspections.select(list(INSPECTION_COLUMNS)), hide_index=True, column_config=INSPECTION_COLUMNS)
    cards = inspections["card_unit_id"].unique(maintain_order=True).to_list()
    if cards:
        chosen = st.selectbox("Open a card unit", cards, index=None, key=f"cards_{label}")
        if chosen:
            open_in_traceability(chosen)


def slow_operations(report: data.QualityReport, cut: data.TimeCut) -> None:
    slow = report.slow_operations
    st.subheader("Operations over twice their standard time")
    st.caption("Durations are working minutes of the station: a night or a weekend in between does not count.")
    if slow.height == 0:
        st.success("No operation took more than twice its standard time.", icon=":material/check_circle:")
        return
    st.dataframe(
        slow.select(
            "entity_id",
            "operation_id",
            "station_id",
            "operator_id",
            "started_at",
            "actual_minutes",
            "standard_minutes",
            "ratio",
            "anomalous",
        ),
        hide_index=True,
        column_config={
            "entity_id": "Sheet or card unit",
            "operation_id": "Operation",
            "station_id": "Station",
            "operator_id": "Operator",
            "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="ddd DD MMM HH:mm"),
            "actual_minutes": st.column_config.NumberColumn("Took (min)", format="%.1f"),
            "standard_minutes": st.column_config.NumberColumn("Standard (min)", format="%.2f"),
            "ratio": st.column_config.NumberColumn("× standard", format="%.1f"),
            "anomalous": st.column_config.CheckboxColumn("Anomalous for its context"),
        },
    )
    chosen = st.selectbox(
        "Drill down to the cards behind an operation",
        slow["entity_id"].unique(maintain_order=True).to_list(),
        index=None,
        key="slow_drill",
    )
    if chosen:
        show_cards_of(chosen, cut)


def rate_chart(rates: pl.DataFrame, plant_rate: float | None, factor_name: str) -> alt.LayerChart:
    frame = rates.to_pandas()
    order = rates["level"].to_list()
    y = alt.Y("level:N", sort=order, title=factor_name)
    intervals = (
        alt.Chart(frame)
        .mark_rule(strokeWidth=2, color="#4c78a8")
        .encode(
            x=alt.X("rate_low:Q", title="QA failure rate (95% Wilson interval)", axis=alt.Axis(format="%")),
            x2="rate_high:Q",
            y=y,
        )
    )
    points = (
        alt.Chart(frame)
        .mark_point(filled=True, size=70)
        .encode(
            x="failure_rate:Q",
            y=y,
            color=alt.condition("datum.significant", alt.value("#e45756"), alt.value("#4c78a8")),
            tooltip=[
                alt.Tooltip("level", title=factor_name),
                "inspections",
                "failures",
                alt.Tooltip("failure_rate", format=".1%", title="rate"),
                alt.Tooltip("rate_low", format=".1%", title="from"),
                alt.Tooltip("rate_high", format=".1%", title="to"),
                alt.Tooltip("finding", title="finding"),
            ],
        )
    )
    layers = intervals + points
    if plant_rate is not None:
        layers += alt.Chart(frame).mark_rule(strokeDash=[4, 4], color="#888").encode(x=alt.datum(plant_rate))
    chart: alt.LayerChart = layers.properties(height=max(180, 30 * len(order) + 80))
    return chart


def failure_rates(report: data.QualityReport) -> None:
    st.subheader("QA failure rates")
    if report.inspections.height == 0:
        st.info("No QA inspection yet.")
        return
    plant = report.plant_failure_rate
    st.caption(
        f"{report.inspections.height} inspections, {plant:.1%} failed plant-wide (dashed line). "
        "Red: beyond chance after correcting for the many comparisons."
    )
    factor = st.radio(
        "By", list(data.QA_FACTORS), format_func=lambda f: data.QA_FACTORS[f], horizontal=True, key="qa_factor"
    )
    name = data.QA_FACTORS[factor]
    rates = report.failure_rates.filter(pl.col("factor") == factor)
    if factor in ("position", "hour"):
        rates = rates.sort(pl.col("level").cast(pl.Int64))
    st.altair_chart(rate_chart(rates, plant, name), width="stretch")
    st.dataframe(
        rates.select(
            "level", "inspections", "failures", "failure_rate", "rate_low", "rate_high", "significant", "finding"
        ),
        hide_index=True,
        column_config={
            "level": name,
            "failure_rate": st.column_config.NumberColumn("Failure rate", format="percent"),
            "rate_low": st.column_config.NumberColumn("95% CI from", format="percent"),
            "rate_high": st.column_config.NumberColumn("95% CI to", format="percent"),
            "significant": st.column_config.CheckboxColumn("Beyond chance"),
            "finding": st.column_config.TextColumn("Finding", width="large"),
        },
    )
    level = st.selectbox(
        f"Drill down to the cards behind a {name}", rates["level"].to_list(), index=None, key="rate_drill"
    )
    if level is not None:
        show_inspections(data.inspections_behind(report, factor, level), f"{name} {level}")


def anomalies(report: data.QualityReport, cut: data.TimeCut) -> None:
    flagged = report.anomalies
    st.subheader("Anomalies flagged")
    if flagged.height == 0:
        st.success(
            "The detectors flag nothing: no anomalous operation, failure pattern or drift.",
            icon=":material/check_circle:",
        )
        return
    st.dataframe(
        flagged.select("signal", "subject", "station_id", "flagged_at", "explanation"),
        hide_index=True,
        column_config={
            "signal": "Signal",
            "subject": "About",
            "station_id": "Station",
            "flagged_at": st.column_config.DatetimeColumn("Flagged (UTC)", format="ddd DD MMM HH:mm"),
            "explanation": st.column_config.TextColumn("Why", width="large"),
        },
    )
    labels = [f"{row['signal']}: {row['subject']}" for row in flagged.iter_rows(named=True)]
    chosen = st.selectbox(
        "Drill down to the cards behind an anomaly",
        range(len(labels)),
        index=None,
        format_func=lambda i: labels[i],
        key="anomaly_drill",
    )
    if chosen is None:
        return
    row = flagged.row(chosen, named=True)
    st.info(row["explanation"], icon=":material/lightbulb:")
    if row["entity_id"]:
        show_cards_of(row["entity_id"], cut)
    elif row["factor"]:
        show_inspections(data.inspections_behind(report, row["factor"], row["level"]), str(row["subject"]))
    elif row["window_start"] is not None:
        window = data.inspections_in_window(report, row["station_id"], row["window_start"], row["window_end"])
        show_inspections(window, f"{row['station_id']} in the alarm's window")


st.title("Quality and anomalies")
cut = data.time_cut()
report = data.quality_report(cut)
match report:
    case data.AnalyticsUnavailable():
        st.warning(report.reason, icon=":material/engineering:")
    case data.QualityReport():
        analysed, refresh = st.columns([4, 1], vertical_alignment="center")
        analysed.caption(f"Analysed at {report.analysed_at:%a %d %b %H:%M} UTC.")
        refresh.button("Re-analyse now", on_click=data.reanalyse, help="Analyse the plant again as it is now.")
        slow_operations(report, cut)
        failure_rates(report)
        anomalies(report, cut)
