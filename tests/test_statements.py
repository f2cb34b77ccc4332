"""A sentence of a notebook that its numbers no longer support stops the notebook: notebook 1 is run
in quick mode (papermill, as make figures and nbval run it) with one of its checked statements made
false on purpose, and fails, quoting the statement; the same notebook unchanged has passed nbval."""
import os
from pathlib import Path

import jupytext
import nbformat
import papermill as pm
import pytest

import mfcredit as mf

ROOT = Path(mf.nb.REPO)
CHECK = 'mf.nb.check(scratch_diff <= TOL, "the loop\'s parameters equal mf.train\'s to a relative 1e-10")'


def test_check_raises_with_the_statement():
    mf.nb.check(1 + 1 == 2, "arithmetic holds")
    with pytest.raises(mf.nb.StatementError, match="the notebook says: \"two is three\""):
        mf.nb.check(2 == 3, "two is three")


def test_a_false_statement_stops_its_notebook(tmp_path, monkeypatch):
    nb = jupytext.read(ROOT / "notebooks" / "src" / "01-theory.py")
    cells = [c for c in nb.cells if CHECK in c.source]
    assert len(cells) == 1, "notebook 1 no longer states this check"
    cells[0].source = cells[0].source.replace("scratch_diff <= TOL", "scratch_diff <= -TOL")  # false on purpose
    path = tmp_path / "01-theory.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setenv("MFCREDIT_QUICK", "1")
    monkeypatch.setenv("MFCREDIT_PROGRESS", "0")
    monkeypatch.setenv("MFCREDIT_OUTPUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MFCREDIT_CACHE", os.environ.get("MFCREDIT_CACHE", str(ROOT / "cache" / "quick")))
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(path), str(tmp_path / "out.ipynb"), kernel_name="python3", cwd=str(ROOT / "notebooks"),
                            progress_bar=False, execution_timeout=600)
    assert err.value.ename == "StatementError"
    assert "the loop's parameters equal mf.train's to a relative 1e-10" in err.value.evalue
