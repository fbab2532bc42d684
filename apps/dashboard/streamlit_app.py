"""The cardtrace dashboard's one entrypoint: `streamlit run apps/dashboard/streamlit_app.py`.

It asks who is looking (a token from `cardtrace token issue`, or the OIDC login when `[auth]` is configured in
Streamlit's secrets), puts the time-travel control in the sidebar and hands over to the page the viewer opened.
Nothing is shown before the viewer is known.
"""

import streamlit as st

from apps.dashboard import data

st.set_page_config(page_title="cardtrace", page_icon=":material/style:", layout="wide")


def token_gate() -> data.Viewer | None:
    """The viewer this session signed in as; else the sign-in form (and None)."""
    signed_in = data.signed_in_viewer()
    if signed_in is not None:
        return signed_in
    if data.oidc_configured():
        return oidc_gate()
    st.title("cardtrace")
    ended = data.session_ended()
    if ended is not None:
        st.warning(ended, icon=":material/lock_clock:")
    with st.form("sign_in", clear_on_submit=True):
        token = st.text_input(
            "Access token",
            type="password",
            key="token_entry",
            help="A token printed by `cardtrace token issue --role planner` (or analyst, manager, admin).",
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            data.sign_in_with_token(token)
        except data.AccessRefused as refusal:
            st.error(str(refusal), icon=":material/block:")
        else:
            st.rerun()  # draw the app without the sign-in form
    return None


def oidc_gate() -> data.Viewer | None:
    if not st.user.is_logged_in:
        st.title("cardtrace")
        if st.button("Log in", type="primary"):
            st.login()
        return None
    try:
        return data.sign_in_with_oidc(st.user.to_dict())
    except data.AccessRefused as refusal:
        st.error(str(refusal), icon=":material/block:")
        if st.button("Log out"):
            st.logout()
        return None


def time_travel_control(viewer: data.Viewer) -> None:
    """As of (occurred time) and known at (recorded time), both UTC; off means the live plant."""
    with st.sidebar:
        st.caption(f"Signed in as **{viewer.subject}** ({viewer.role})")
        travelling = st.toggle("Time travel", key=data.TIME_TRAVEL_KEY, help="See the plant as it was.")
        if travelling:
            for key in (data.AS_OF_KEY, data.KNOWN_AT_KEY):  # both start at now, in UTC whatever the server's zone
                st.session_state.setdefault(key, data.utc_now_shown())
            st.datetime_input("As of (occurred, UTC)", key=data.AS_OF_KEY, step=60)
            st.datetime_input("Known at (recorded, UTC)", key=data.KNOWN_AT_KEY, step=60)
        st.caption(data.describe_cut(data.time_cut()))
        if st.button("Sign out"):
            data.sign_out()
            if viewer.via == "oidc":
                st.logout()
            st.rerun()


viewer = token_gate()
if viewer is None:
    st.stop()
else:
    time_travel_control(viewer)
    pages = st.navigation(
        {
            "Plan": [st.Page("app_pages/capacity.py", title="Capacity", icon=":material/calendar_month:")],
            "Floor": [
                st.Page("app_pages/traceability.py", title="Traceability", icon=":material/search:"),
                st.Page("app_pages/station_floor.py", title="Station floor", icon=":material/factory:"),
            ],
            "Analyse": [st.Page("app_pages/quality.py", title="Quality", icon=":material/troubleshoot:")],
        }
    )
    pages.run()
