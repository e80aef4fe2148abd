"""The tutorial notebook (notebooks/tutorial.py, jupytext percent format) executed as a real notebook: the paired
.ipynb is generated here and run by nbclient on the python3 kernel, so the tutorial never rots."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "tutorial.py"

jupytext = pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -e '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
pytest.importorskip("ipykernel", reason="ipykernel (the python3 kernel) is not installed (pip install -e '.[test]')")


def _execute(nb, timeout: float = 180.0):
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    return client.execute()


def _text(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") if o.get("output_type") == "stream" else "")
    return "".join(out)


def test_tutorial_runs_as_a_notebook(tmp_path):
    nb = jupytext.read(SOURCE)
    paired = tmp_path / "tutorial.ipynb"
    jupytext.write(nb, paired)  # the paired .ipynb, generated from the percent script
    nb = jupytext.read(paired)
    t0 = time.perf_counter()
    _execute(nb)
    seconds = time.perf_counter() - t0
    text = _text(nb)
    assert "Lemma 2.1 (gaussian-limit)" in text and "VERIFIED" in text  # the verdict, computed from the records
    assert re.search(r"(\d+) of \1 derivations and checks passed", text)
    assert "right: True" in text and "wrong: False" in text
    assert "local slope at L = 1e4..1e6" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1, "the rate plot is displayed"
    assert seconds < 120, f"the tutorial took {seconds:.0f} s (budget: 60 s on an idle 2-core machine)"


def test_a_broken_tutorial_cell_fails_the_run():
    """The planted mutant: the 'wrong' formula replaced by the right one, so the rejection assert goes red."""
    nb = jupytext.read(SOURCE)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    claim = next(c for c in cells if "check_claim" in c.source)
    claim.source = claim.source.replace('"V*Gamma*K.T*Q*z"', '"V*(m + Gamma*K.T*Q*z)"')
    nb.cells = [cells[0], claim]
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="AssertionError"):
        _execute(nb, timeout=120)


def test_readme_links_the_tutorial():
    assert "notebooks/tutorial.py" in (ROOT / "README.md").read_text()
