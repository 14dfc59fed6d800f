"""Every notebook in notebooks/ runs end to end (with a few paths), so a notebook that breaks fails CI.

The kernel is the ``python3`` kernel of the interpreter running the tests (ipykernel is a test
dependency; jupyter_client runs a ``python`` kernel command with ``sys.executable``), so it sees the
same installed fundsim. Settings reach the notebook through ``FUNDSIM_NB_*`` environment variables.
"""

from __future__ import annotations

from pathlib import Path

import nbclient  # test dependencies (pyproject.toml [test]): a missing one is an error, not a skip
import nbformat
import pytest

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_is_a_notebook():
    assert any(p.name == "explore_scenarios.ipynb" for p in NOTEBOOKS)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("FUNDSIM_NB_PATHS", "2")
    monkeypatch.setenv("FUNDSIM_NB_YEARS", "2")
    monkeypatch.setenv("FUNDSIM_NB_OUT", str(tmp_path / "report"))
    monkeypatch.setenv("FUNDSIM_NB_EXACT", "0")  # checked in test_report.py; 10 s on Henan
    monkeypatch.setenv("FUNDSIM_NB_CASHFLOW_PATHS", "0")  # checked in test_report.py
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    if path.name == "explore_scenarios.ipynb":
        assert (tmp_path / "report" / "index.html").is_file()
        assert (tmp_path / "report" / "comparison.csv").is_file()


def test_notebooks_fit_how_people_work():
    """Issue 19: formatted tables (pandas Styler), one-call variants, progress bars, and a pricing
    notebook on a realistic fund whose bid grid spans its break-even and loss-probability
    solution (asserted inside the notebook, which test_notebook_runs executes)."""
    text = {p.name: "".join(c.source for c in nbformat.read(p, 4).cells) for p in NOTEBOOKS}
    price, explore = text["price_tender.ipynb"], text["explore_scenarios.ipynb"]
    assert "ankang_serious_illness.toml" in price and "layered.toml" not in price
    assert "assert bids[0] < be.value < bids[-1] and bids[0] < safe.value < bids[-1]" in price
    assert "np.arange(45.0, 86.0" not in price
    for source in (price, explore):
        assert ".style.format(" in source and "with_values(" in source
    assert "progress=True" in explore
