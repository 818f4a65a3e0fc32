"""Run every tutorial notebook top to bottom; any error (a failing assert included) fails.

Each notebook is copied to a temporary directory and executed there with nbclient, so
files it writes never land in the repository. The kernel runs with the repository root on
``PYTHONPATH`` so ``import minigrad`` finds this checkout — except with
``MINIGRAD_TEST_INSTALLED=1``, where the notebooks run on the installed package (CI checks a
non-editable install this way). Skipped when the notebook tools (``pip install -e ".[test]"``)
are not installed.
"""
import os
import pathlib
import shutil
import time

import pytest

from minigrad import _kernels

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 120          # seconds for one cell


def test_notebooks_are_present():
    assert len(NOTEBOOKS) >= 1, f"no notebooks found in {TUTORIALS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    if path.name.startswith("02_") and _kernels.compiled is None:
        pytest.skip("tutorial 02 compares and times the compiled kernels, which are not built "
                    "here (no C compiler at install time)")
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    if os.environ.get("MINIGRAD_TEST_INSTALLED", "0").strip() in ("", "0"):
        pythonpath = os.environ.get("PYTHONPATH")
        monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + pythonpath if pythonpath else ""))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()          # raises CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: error outputs {errors}"
    # (no timed assertion: a loaded CI machine must not fail a correct notebook; the time is
    # reported with -s, and a notebook stuck in one cell still fails by CELL_TIMEOUT)
    print(f"{path.name}: {elapsed:.0f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_has_clean_outputs(path):
    """Notebooks are committed executed (they must read well on GitHub) and without errors."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), f"{path.name} is not executed"
    for c in code:
        for o in c.get("outputs", []):
            assert o.get("output_type") != "error", f"{path.name} has an error output"
