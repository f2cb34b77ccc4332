"""The "Try it" solutions of notebooks 1 to 7 run, in quick mode, after the notebook's own cells.

Each solution is a ```python block inside a <details> element of the notebook's markdown. The test
builds a copy of the notebook with every solution appended as a code cell and executes it with
papermill (quick mode, the quick-mode cache that nbval uses), so a solution that no longer matches
the notebook or the package fails here.
"""
import os
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

import mfcredit as mf

ROOT = Path(mf.nb.REPO)
CHAPTERS = sorted(p for p in (ROOT / "notebooks").glob("0[1-7]*.ipynb"))


def solutions(nb) -> list[str]:
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    blocks = re.findall(r"<details>.*?```python\n(.*?)```.*?</details>", text, flags=re.S)
    return [re.sub(r"(?m)^ {3}", "", b).strip() for b in blocks]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_solutions_run_in_quick_mode(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    code = solutions(nb)
    assert len(code) >= 2, f"{path.name}: fewer than two exercises with solutions"
    for c in nb.cells:
        c.outputs = [] if c.cell_type == "code" else None
        if c.cell_type != "code":
            c.pop("outputs")
    nb.cells += [nbformat.v4.new_code_cell(s) for s in code]
    copy = tmp_path / path.name
    nbformat.write(nb, copy)
    monkeypatch.setenv("MFCREDIT_QUICK", "1")
    monkeypatch.setenv("MFCREDIT_PROGRESS", "0")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MFCREDIT_CACHE", os.environ.get("MFCREDIT_CACHE", str(ROOT / "cache" / "quick")))
    pm.execute_notebook(str(copy), str(tmp_path / "out.ipynb"), kernel_name="python3", cwd=str(path.parent),
                        progress_bar=False, execution_timeout=600)
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert all(o["output_type"] != "error" for c in out.cells[-len(code):] for o in c.outputs)
