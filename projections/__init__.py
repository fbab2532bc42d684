"""The read side and the lake: `open_lake(data_dir)` returns a `Lake` of read models as of any cut.

>>> import tempfile
>>> with open_lake(tempfile.mkdtemp()) as lake:
...     lake.jobs().height
0
"""

from projections.lake_api import Lake, open_lake

__all__ = ["Lake", "open_lake"]
