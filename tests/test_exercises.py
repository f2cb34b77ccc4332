"""The "Try it" exercises of notebooks 1 to 9: each states what the reader should expect, and its
solution (notebooks/solutions/<notebook>.py) has been run: the committed notebook shows it folded,
with its code, what it printed and an interpretation written from that output. nbval runs every
solution in quick mode with the rest of the notebook (make test)."""
import re
from pathlib import Path

import nbformat
import pytest

import mfcredit as mf

ROOT = Path(mf.nb.REPO)
CHAPTERS = sorted(p for p in (ROOT / "notebooks").glob("0[1-9]*.ipynb"))
CALL = re.compile(r'^mf\.nb\.solution\("([^"]+)", (\d+), globals\(\)\)$')


def exercises(nb):
    """(markdown cell, solution cell) of every exercise after the '## Try it' heading."""
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Try it" in c.source)
    cells = nb.cells[start:]
    return [(cells[i - 1], c) for i, c in enumerate(cells) if c.cell_type == "code" and CALL.match(c.source)]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_expects_something_and_shows_its_run_solution(path):
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    assert len(found) >= (1 if path.name.startswith("09") else 2), f"{path.name}: too few exercises with solutions"
    blocks = mf.nb.solutions(path.stem)
    for k, (text, cell) in enumerate(found, start=1):
        name, number = CALL.match(cell.source).groups()
        assert name == path.stem and int(number) == k, f"{path.name}: solution call {cell.source!r} is not exercise {k}"
        assert "*Expect:*" in text.source, f"{path.name}, exercise {k}: no stated expectation"
        assert "hide-input" in cell.metadata.get("tags", []) and cell.metadata.get("jupyter", {}).get("source_hidden")
        code, interp = blocks[k]
        assert code and "answer" in interp, f"{path.name}, exercise {k}: solution without code or interpretation"
        shown = [o["data"]["text/markdown"] for o in cell.outputs if "text/markdown" in o.get("data", {})]
        assert len(shown) == 1, f"{path.name}, exercise {k}: the committed notebook shows no run solution"
        assert shown[0].startswith(f"<details><summary>Solution {k}</summary>") and code in shown[0]
        printed = re.search(r"It prints:\n\n```\n(.*?)\n```\n\n(.+)\n\n</details>", shown[0], flags=re.S)
        assert printed and printed.group(1).strip() and printed.group(2).strip(), f"{path.name}, exercise {k}: no output"
    assert len(blocks) == len(found), f"{path.name}: solutions file and notebook disagree on the exercises"


def test_a_solution_runs_in_the_notebook_namespace_and_folds(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mf.nb, "SOLUTIONS", tmp_path)
    (tmp_path / "nb.py").write_text("# %% 1\ny = x * 2\nprint(y)\n# interpretation\nanswer = f'twice {x} is {y}'\n")
    ns = {"x": 21}
    mf.nb.solution("nb", 1, ns)
    out = capsys.readouterr().out
    assert ns["y"] == 42 and "answer" not in ns
    assert out.startswith("<details><summary>Solution 1</summary>") and "y = x * 2" in out
    assert "It prints:\n\n```\n42\n```\n\ntwice 21 is 42\n\n</details>" in out
