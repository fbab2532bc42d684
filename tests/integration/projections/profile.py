"""Hypothesis profiles for the projection suites: at least 300 examples per read model in CI, a quick run locally.

The profiles are applied per test (`@PROFILE`), never loaded globally, so other suites keep theirs.
`CARDTRACE_EXAMPLES` overrides the equivalence suite's count either way. Reads through a real data directory
(event store, Delta lake) cost a lot more per example and run fewer (`LAKE_PROFILE`).
"""

import os

from hypothesis import HealthCheck, settings

_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_RELAXED = (HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture)
settings.register_profile(
    "projections",
    max_examples=int(os.environ.get("CARDTRACE_EXAMPLES", "300" if _CI else "10")),
    deadline=None,
    suppress_health_check=_RELAXED,
)
settings.register_profile(
    "projections-lake", max_examples=30 if _CI else 4, deadline=None, suppress_health_check=_RELAXED
)
# Folding range by range is checked against one fold by the same engine: fewer examples find its bugs.
settings.register_profile(
    "projections-ranges", max_examples=100 if _CI else 10, deadline=None, suppress_health_check=_RELAXED
)
PROFILE = settings.get_profile("projections")
LAKE_PROFILE = settings.get_profile("projections-lake")
RANGES_PROFILE = settings.get_profile("projections-ranges")
