"""The dashboard: one Streamlit multipage app over the lake (capacity, traceability, station floor, quality).

`streamlit_app.py` is the entrypoint (token gate or OIDC, the sidebar's time travel, `st.navigation` of the pages
in `app_pages/`); `data.py` is the only module that reads `projections` and `scheduling`; `launch.run_apps`
serves it on 127.0.0.1 for `cardtrace apps`.

>>> from apps.dashboard.launch import dashboard_command
>>> dashboard_command(8501)[5:7]
['--server.address', '127.0.0.1']
"""
