"""Station floor: what waits and what runs at each station, today's throughput, and the sets missing cards."""

from datetime import timedelta

import altair as alt
import polars as pl
import streamlit as st

from apps.dashboard import data

REFRESH = timedelta(seconds=30)
TRACEABILITY = "app_pages/traceability.py"
CHART_HEIGHT = 420


def show_alerts(floor: data.StationFloor) -> None:
    alerts = floor.absent_alerts
    if alerts.height == 0:
        st.success("No open set has a card absent past its timeout.", icon=":material/check_circle:")
        return
    st.markdown(f"**{alerts.height} open set(s) with cards absent past the timeout**")
    for alert in alerts.iter_rows(named=True):
        positions = ", ".join(f"{p:02d}" for p in alert["absent_past_timeout"])
        message, link = st.columns([4, 1], vertical_alignment="center")
        message.error(
            f"{alert['assembly_id']} at {alert['station_id']}: positions {positions} absent since "
            f"{alert['absent_alert_at']:%a %d %b %H:%M} UTC ({len(alert['present_positions'])} present).",
            icon=":material/notification_important:",
        )
        link.page_link(
            TRACEABILITY,
            label=f"Open {alert['assembly_id']}",
            icon=":material/search:",
            query_params={"q": alert["assembly_id"]},
        )


def throughput_chart(stations: pl.DataFrame) -> alt.LayerChart:
    frame = stations.select(
        "station_id",
        "done_today",
        "rated_so_far",
        "capacity_unit",
        pl.col("throughput_ratio").fill_null(0.0).alias("share"),
    ).to_pandas()
    order = stations["station_id"].to_list()
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("station_id:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="done today / rated so far"),
            color=alt.condition("datum.share >= 1", alt.value("#54a24b"), alt.value("#4c78a8")),
            tooltip=[
                alt.Tooltip("station_id", title="station"),
                alt.Tooltip("done_today", title="done today"),
                alt.Tooltip("rated_so_far", title="rated so far", format=".0f"),
                alt.Tooltip("capacity_unit", title="unit"),
            ],
        )
    )
    rated = alt.Chart(frame).mark_rule(strokeDash=[4, 4], color="#e45756").encode(x=alt.datum(1))
    chart: alt.LayerChart = (bars + rated).properties(
        height=CHART_HEIGHT, title="Today's throughput against rated capacity (dashed: 100%)"
    )
    return chart


def queue_chart(stations: pl.DataFrame) -> alt.Chart:
    frame = stations.select(
        "station_id",
        pl.col("waiting_hours").alias("waiting"),
        pl.col("in_progress_hours").alias("in progress"),
    ).unpivot(index="station_id", variable_name="state", value_name="standard_hours")
    chart: alt.Chart = (
        alt.Chart(frame.to_pandas(), title="Work at each station (standard hours)")
        .mark_bar()
        .encode(
            y=alt.Y(
                "station_id:N", sort=stations["station_id"].to_list(), title=None, axis=alt.Axis(labelOverlap=False)
            ),
            x=alt.X("standard_hours:Q", title="standard hours"),
            color=alt.Color(
                "state:N", scale=alt.Scale(range=["#4c78a8", "#f58518"]), legend=alt.Legend(orient="bottom", title=None)
            ),
            tooltip=["station_id", "state", alt.Tooltip("standard_hours", format=".2f")],
        )
        .properties(height=CHART_HEIGHT)
    )
    return chart


def show_station(stations: pl.DataFrame) -> None:
    station_id = st.selectbox("Station", stations["station_id"].to_list(), key="floor_station")
    row = stations.filter(pl.col("station_id") == station_id).row(0, named=True)
    waiting, running, done, oldest = st.columns(4)
    waiting.metric(
        "Waiting",
        f"{row['waiting_units']} units",
        f"{row['waiting_hours']:.1f} standard h",
        delta_color="off",
        delta_arrow="off",
    )
    running.metric(
        "In progress",
        f"{row['in_progress_units']} units",
        f"{row['in_progress_hours']:.2f} standard h",
        delta_color="off",
        delta_arrow="off",
    )
    done.metric(
        "Done today",
        row["done_today"],
        f"rated {row['rated_so_far']:.0f} so far ({row['capacity_unit']})",
        delta_color="off",
        delta_arrow="off",
    )
    if row["oldest_waiting_id"]:
        oldest.metric(
            "Oldest waiting",
            row["oldest_waiting_id"],
            f"{row['oldest_waiting_hours']:.1f} h",
            delta_color="off",
            delta_arrow="off",
        )
        st.page_link(
            TRACEABILITY,
            label=f"Open {row['oldest_waiting_id']}",
            icon=":material/search:",
            query_params={"q": row["oldest_waiting_id"]},
        )
    else:
        oldest.metric("Oldest waiting", "—")
    if row["in_progress"]:
        st.caption("In progress here: " + ", ".join(row["in_progress"]))


st.title("Station floor")


@st.fragment(run_every=REFRESH)
def station_floor() -> None:
    floor = data.station_floor(data.time_cut())
    st.caption(
        f"As at {floor.judged_at:%a %d %b %Y %H:%M} UTC · refreshes every {int(REFRESH.total_seconds())} s · "
        "waiting work is shared by the stations of one type."
    )
    show_alerts(floor)
    stations = floor.stations
    left, right = st.columns(2)
    left.altair_chart(queue_chart(stations), width="stretch")
    right.altair_chart(throughput_chart(stations), width="stretch")
    st.dataframe(
        height="content",
        data=stations.select(
            "station_id",
            "waiting_units",
            "waiting_hours",
            "in_progress_units",
            "in_progress_hours",
            "done_today",
            "rated_so_far",
            "rated_today",
            "capacity_unit",
            "oldest_waiting_id",
            "oldest_waiting_hours",
        ),
        hide_index=True,
        column_config={
            "station_id": "Station",
            "waiting_units": "Waiting (units)",
            "waiting_hours": st.column_config.NumberColumn("Waiting (std h)", format="%.2f"),
            "in_progress_units": "In progress (units)",
            "in_progress_hours": st.column_config.NumberColumn("In progress (std h)", format="%.2f"),
            "done_today": "Done today",
            "rated_so_far": st.column_config.NumberColumn("Rated so far", format="%.0f"),
            "rated_today": st.column_config.NumberColumn("Rated today", format="%.0f"),
            "capacity_unit": "Unit",
            "oldest_waiting_id": "Oldest waiting",
            "oldest_waiting_hours": st.column_config.NumberColumn("Waiting for (h)", format="%.1f"),
        },
    )
    show_station(stations)


station_floor()
