"""The plant simulator: a discrete-event model of the floor that writes through the real ingest path.

`simulate(data_dir, days, seed)` plays `days` of the plant in `data/factory.toml` into the data directory
(in-process through `ingest.service.ScanService`, or over HTTP with `via`/`token`), writes the ground truth of
the anomalies it injected to `<data>/simulation/truth.parquet` and answers a `SimulationSummary`;
`apps.simulate.live` keeps a real-time trickle of scans flowing into a running server for the demo.

>>> import pathlib, tempfile
>>> from apps.simulate.runner import simulate
>>> from projections.data_dir import DataDir
>>> summary = simulate(DataDir(root=pathlib.Path(tempfile.mkdtemp())), days=0.05, seed=1, progress=False)
>>> summary.refused_scans, summary.events > 100
(0, True)
"""
