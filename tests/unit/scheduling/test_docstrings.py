from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module_name", ["scheduling", "scheduling.problem", "scheduling.jobshop", "scheduling.solve"])
def test_the_examples_in_the_docstrings_run_as_written(module_name: str) -> None:
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)

    assert result.attempted > 0
    assert result.failed == 0
