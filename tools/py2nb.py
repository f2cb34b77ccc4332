"""Build notebooks/NN-name.ipynb from the percent-format sources in notebooks/src/NN-name.py.

Cells start with '# %%' (code; '# %% tags=["parameters"]' adds tags) or '# %% [markdown]' (every
line's leading '# ' is removed). Outputs are empty: `make figures` executes the notebooks in place.
    python tools/py2nb.py notebooks/src/*.py
"""
import json
import re
import sys
from pathlib import Path

import nbformat


def convert(src: Path) -> nbformat.NotebookNode:
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in text.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(text)
            if tags:
                cell.metadata["tags"] = tags
            cells.append(cell)

    for line in src.read_text().splitlines():
        m = re.match(r"^# %%(.*)$", line)
        if m:
            flush()
            rest = m.group(1).strip()
            kind = "markdown" if rest.startswith("[markdown]") else "code"
            t = re.search(r"tags=(\[.*\])", rest)
            tags, lines = (json.loads(t.group(1)) if t else []), []
        else:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, c in enumerate(nb.cells):
        c["id"] = f"{src.stem[:2]}-{i:02d}"
    return nb


if __name__ == "__main__":
    for s in map(Path, sys.argv[1:]):
        out = s.parent.parent / (s.stem + ".ipynb")
        nbformat.write(convert(s), out)
        print("wrote", out)
