"""Every analyst notebook runs top to bottom on a small generated plant; a notebook that raises fails."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from projections.data_dir import resolve_data_dir

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def small_plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from apps.simulate.runner import simulate

    data = resolve_data_dir(tmp_path_factory.mktemp("plant"))
    simulate(data, days=2, seed=3, progress=False)
    return data.root


def test_there_is_a_notebook_for_each_question() -> None:
    assert [path.stem for path in NOTEBOOKS] == [
        "01_qa_patterns",
        "02_operation_anomalies",
        "03_time_travel",
        "04_genealogy",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_committed_notebook_stores_no_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebook_runs_top_to_bottom_on_a_small_plant(
    path: Path, small_plant: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARDTRACE_DATA", str(small_plant))
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError, naming the cell, when any cell raises
