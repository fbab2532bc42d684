"""Capacity (planners): load against capacity per station and day, the schedule, jobs at risk, "can we commit?"."""

from datetime import datetime, timedelta
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from apps.dashboard import data


def heatmap(outlook: data.CapacityOutlook) -> alt.LayerChart:
    frame = outlook.heatmap.with_columns(
        label=pl.when(pl.col("available_hours") > 0)
        .then(pl.format("{}/{}", pl.col("scheduled_hours").round(1), pl.col("available_hours").round(0)))
        .otherwise(pl.lit("closed")),
        load=pl.when(pl.col("available_hours") > 0).then(pl.col("utilization")),
    ).to_pandas()
    stations = outlook.heatmap["station_id"].unique(maintain_order=True).to_list()
    base = alt.Chart(frame, title="Scheduled / available hours per station and day").encode(
        x=alt.X("day:O", timeUnit="yearmonthdate", title=None, axis=alt.Axis(format="%a %d %b", labelAngle=-40)),
        y=alt.Y("station_id:N", sort=stations, title=None),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "load:Q",
            title="load",
            scale=alt.Scale(scheme="orangered", domain=[0, 1], clamp=True),
            legend=alt.Legend(format="%"),
        ),
        tooltip=[
            alt.Tooltip("station_id", title="station"),
            alt.Tooltip("day", timeUnit="yearmonthdate", title="day"),
            alt.Tooltip("scheduled_hours", title="scheduled h", format=".1f"),
            alt.Tooltip("available_hours", title="available h", format=".1f"),
            alt.Tooltip("utilization", title="load", format=".0%"),
        ],
    )
    text = base.mark_text(fontSize=9).encode(
        text="label:N", color=alt.condition("datum.load > 0.6", alt.value("white"), alt.value("#333"))
    )
    chart: alt.LayerChart = (cells + text).properties(height=28 * len(stations) + 40)
    return chart


def gantt(outlook: data.CapacityOutlook, days: int) -> alt.LayerChart:
    """The plan from now to the horizon; a due date already past shows in the tooltip and the jobs at risk."""
    horizon = outlook.planned_at + timedelta(days=days)
    frame = outlook.gantt.filter(pl.col("start") < horizon)
    last = min(horizon, outlook.finishes_at or horizon)
    domain = [_epoch_ms(outlook.planned_at), _epoch_ms(last + (last - outlook.planned_at) * 0.03)]
    stations = outlook.heatmap["station_id"].unique(maintain_order=True).to_list()
    jobs = sorted(frame["job_id"].unique().to_list())
    colour = alt.Color("job_id:N", title="job", scale=alt.Scale(domain=jobs, scheme="tableau20"))
    x = alt.X("start:T", title=None, scale=alt.Scale(domain=domain), axis=alt.Axis(format="%a %d %b %H:%M"))
    bars = (
        alt.Chart(frame.to_pandas())
        .mark_bar(height=14, clip=True)
        .encode(
            x=x,
            x2="end:T",
            y=alt.Y("station_id:N", sort=stations, title=None),
            color=colour,
            tooltip=[
                alt.Tooltip("job_id", title="job"),
                alt.Tooltip("lot", title="sheets from"),
                alt.Tooltip("operation_id", title="operation"),
                alt.Tooltip("station_id", title="station"),
                alt.Tooltip("start", format="%a %d %b %H:%M", title="start"),
                alt.Tooltip("end", format="%a %d %b %H:%M", title="end"),
                alt.Tooltip("due", format="%a %d %b", title="due"),
            ],
        )
    )
    dues = (
        frame.group_by("job_id")
        .agg(pl.col("due").first())
        .drop_nulls("due")
        .filter(pl.col("due").is_between(outlook.planned_at, last))
        .rename({"due": "start"})
    )
    due_rules = (
        alt.Chart(dues.to_pandas())
        .mark_rule(strokeDash=[6, 3], strokeWidth=2)
        .encode(
            x=x, color=colour, tooltip=[alt.Tooltip("job_id", title="due date of"), alt.Tooltip("start:T", title="due")]
        )
    )
    chart: alt.LayerChart = (bars + due_rules).properties(
        height=30 * len(stations) + 40, title="Current schedule by station (dashed: due dates ahead)"
    )
    return chart


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def show_plan(outlook: data.CapacityOutlook, days: int) -> None:
    at_risk = outlook.estimates.filter(pl.col("at_risk"))
    planned, status, bottleneck, risk = st.columns(4)
    planned.metric("Planned at (UTC)", f"{outlook.planned_at:%d %b %H:%M}")
    status.metric(
        "Schedule", outlook.status, f"lots of {outlook.lot_size} sheet(s)", delta_color="off", delta_arrow="off"
    )
    bottleneck.metric(
        "Bottleneck",
        outlook.bottleneck_station_id or "none",
        f"{outlook.bottleneck_utilization:.1%} loaded over {days} days",
        delta_color="off",
        delta_arrow="off",
    )
    risk.metric("Jobs at risk", f"{at_risk.height} of {outlook.estimates.height}")
    if outlook.heatmap.height:
        st.altair_chart(heatmap(outlook), width="stretch")
    if outlook.gantt.height:
        st.altair_chart(gantt(outlook, days), width="stretch")
    else:
        st.info("Nothing left to schedule: every job is packed.")

    st.subheader("Jobs at risk")
    columns: dict[str, Any] = {
        "job_id": "Job",
        "due_date": st.column_config.DateColumn("Due"),
        "estimated_completion": st.column_config.DatetimeColumn("Estimated completion", format="ddd DD MMM HH:mm"),
        "late_by_hours": st.column_config.NumberColumn("Late by (h)", format="%.1f"),
        "driving_operation_id": "Delayed by operation",
        "driving_station_id": "at station",
    }
    if at_risk.height:
        st.dataframe(at_risk.drop("at_risk"), hide_index=True, column_config=columns)
    else:
        st.success("Every open job is estimated to finish by its due date.", icon=":material/check_circle:")
    with st.expander(f"All open jobs ({outlook.estimates.height})"):
        st.dataframe(outlook.estimates, hide_index=True, column_config=columns)


def commit_form(cut: data.TimeCut) -> None:
    st.subheader("Can we commit?")
    products = data.products()
    default_date = data.refresh_moment(cut).date() + timedelta(days=14)
    with st.form("commit"):
        product, sets, requested = st.columns(3)
        chosen = product.selectbox("Product", products, key="commit_product")
        count = sets.number_input("Sets", min_value=1, max_value=2000, value=50, step=10, key="commit_sets")
        date = requested.date_input("Wanted by", value=default_date, key="commit_date")
        asked = st.form_submit_button("Check", type="primary")
    if not asked or chosen is None:
        st.caption("The answer fits the new job into the current plan; nothing is written.")
        return
    verdict = data.commit_verdict(cut, chosen, int(count), date)
    match verdict:
        case data.SchedulingUnavailable():
            st.warning(verdict.reason)
        case data.CommitVerdict() if verdict.feasible:
            st.success(
                f"Yes: {verdict.sets} sets of {verdict.product_id} can be done by "
                f"{verdict.earliest_completion:%a %d %b %H:%M} UTC, {verdict.margin_hours:.1f} h before "
                f"the end of {verdict.requested_date:%a %d %b}.",
                icon=":material/event_available:",
            )
        case data.CommitVerdict():
            st.error(
                f"No: the earliest completion is {verdict.earliest_completion:%a %d %b %H:%M} UTC, "
                f"{-verdict.margin_hours:.1f} h after the end of {verdict.requested_date:%a %d %b}.",
                icon=":material/event_busy:",
            )


st.title("Capacity")
cut = data.time_cut()
horizon, refresh = st.columns([3, 1], vertical_alignment="bottom")
days = horizon.slider("Days ahead", min_value=3, max_value=28, value=14, key="capacity_days")
refresh.button("Re-plan now", on_click=data.replan, help="Plan again from the plant as it is now.")
outlook = data.capacity_outlook(cut, days)
match outlook:
    case data.SchedulingUnavailable():
        st.warning(outlook.reason, icon=":material/engineering:")
    case data.CapacityOutlook():
        show_plan(outlook, days)
commit_form(cut)
