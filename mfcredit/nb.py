"""Notebook plumbing: parameters and quick mode, figures shown inline and saved, result files.

Every notebook has one parameters cell of annotated names, then one setup call::

    quick: bool = False   # True: small and fast (Binder, tests)
    epochs: int = 200
    ...
    mf.nb.setup(globals())   # quick mode applied, every parameter checked (PARAMS)

Figures go through :func:`save_figure`, which writes ``figures/<name>.png`` and ``.pdf`` and shows
the very same PNG in the notebook, so the committed notebook displays what ``figures/`` holds.
Paper-scale output goes to ``figures/`` and ``results/``; quick-mode output to ``figures/quick/``
and ``results/quick/`` (git-ignored), so a quick run never overwrites the paper-scale files.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .utils import REPO, atomic_write_bytes, default_threads, return_freed_memory, trim_heap

#: Where figures/, results/ and build/ go: $MFCREDIT_OUTPUT if set (read at import), else the repository.
ROOT = Path(os.environ.get("MFCREDIT_OUTPUT") or REPO).resolve()

_state = {"quick": False}


@dataclass(frozen=True)
class Param:
    """The rule for one notebook parameter: its type, its range and its quick-mode value."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    quick: object = None  # the value in quick mode; None keeps the notebook's value
    item: type = int  # a list's element type (int or float), checked against lo and hi

    def check(self, name: str, value):
        """Return ``value`` converted to this parameter's type, or raise ValueError naming it."""
        if self.kind is bool:
            return as_bool(name, value)
        if self.kind is list:
            if not isinstance(value, (list, tuple)) or not value:
                raise ValueError(f"notebook parameter {name!r} must be a non-empty list, got {value!r}")
            return [Param(self.item, self.lo, self.hi).check(f"{name}[{i}]", v) for i, v in enumerate(value)]
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"notebook parameter {name!r} must be an integer, got {value!r}")
        if self.kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))
                                   or not math.isfinite(value)):
            raise ValueError(f"notebook parameter {name!r} must be a finite number, got {value!r}")
        if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
            raise ValueError(f"notebook parameter {name!r} must be in [{self.lo}, {self.hi}], got {value!r}")
        return self.kind(value)


#: Every parameter a notebook may declare, in one place: type, range, quick-mode value.
PARAMS = {
    "quick": Param(bool),
    "seed": Param(int, 0),
    "n_seeds": Param(int, 1, quick=2),
    "epochs": Param(int, 1, quick=4),
    "variant_epochs": Param(int, 1, quick=4),
    "n_train": Param(int, 1, 60_000, quick=1000),
    "batch_size": Param(int, 1, quick=100),
    "n_samples": Param(int, 100, quick=2000),
    "n_networks": Param(int, 2, quick=20),
    "n_perturb": Param(int, 1, quick=2),
    "n_prune_samples": Param(int, 1, quick=2),
    "n_test": Param(int, 1, 10_000, quick=2000),
    "n_runs": Param(int, 1, quick=2),
    "sizes": Param(list, 1, 60_000, quick=[500, 1000]),
    "equal_sizes": Param(list, 1, 60_000, quick=[500, 1000, 2000]),
    "n_mc": Param(int, 1, quick=20),
    "tol": Param(float, 0.0, 0.5),
    "n_control_seeds": Param(int, 1, quick=2),
    "bp_lrs": Param(list, 1e-6, 1.0, quick=[0.01, 0.1], item=float),
    "bp_fine_lrs": Param(list, 1e-6, 1.0, quick=[0.1, 0.2], item=float),
    "dropout_rates": Param(list, 0.0, 0.95, quick=[0.1, 0.5], item=float),
    "n_val": Param(int, 1, 59_999, quick=1000),
    "dws": Param(list, 1e-9, 10.0, item=float),
    "noise_pixels": Param(int, 1, 10_000, quick=20),
    "teacher_sizes": Param(list, 1, 60_000, quick=[500, 1000, 2000]),
}


def as_bool(name: str, value) -> bool:
    """True/False from a bool, 0/1 or the strings papermill and environment variables pass."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", ""):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"notebook parameter {name!r} must be True or False, got {value!r}")


def apply_params(ns: dict) -> bool:
    """Check every parameter the notebook declared (its annotated names in ``ns``), switching to the
    quick values of :data:`PARAMS` when ``quick`` is true or MFCREDIT_QUICK=1. Returns quick."""
    declared = list(ns.get("__annotations__", {}))
    unknown = [n for n in declared if n not in PARAMS]
    if unknown:
        raise ValueError(f"unknown notebook parameter(s) {unknown}; known: {sorted(PARAMS)}")
    quick = as_bool("quick", ns.get("quick", False)) or as_bool(
        "MFCREDIT_QUICK", os.environ.get("MFCREDIT_QUICK", "0"))
    for name in declared:
        rule = PARAMS[name]
        value = rule.quick if quick and rule.quick is not None else ns[name]
        ns[name] = rule.check(name, value)
    ns["quick"] = _state["quick"] = quick
    return quick


def _trim_after_each_cell() -> None:
    """In an IPython kernel, give freed heap memory back to the system after every cell (once per
    kernel), so that one cell's temporaries do not raise the next one's starting memory."""
    try:
        ip = get_ipython()  # noqa: F821  (defined inside IPython only)
    except NameError:
        return
    if not getattr(ip, "_mfcredit_trim", False):
        ip.events.register("post_run_cell", lambda *_: trim_heap())
        ip._mfcredit_trim = True


def setup(ns: dict) -> None:
    """Apply quick mode and check the parameters (:func:`apply_params`), set torch's thread count
    and a deterministic plotting style, and say which mode runs."""
    import matplotlib
    import seaborn as sns
    import torch

    quick = apply_params(ns)
    torch.set_num_threads(default_threads())
    return_freed_memory()  # freed sampling temporaries go back to the system (kernel memory)
    _trim_after_each_cell()
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight",
                                "svg.hashsalt": "mfcredit", "figure.max_open_warning": 0,
                                "axes.titlesize": 12, "figure.titlesize": 12})  # every title one size
    if quick and as_bool("MFCREDIT_QUICK", os.environ.get("MFCREDIT_QUICK", "0")):
        # set in the environment (Binder's default): quick = False in the notebook cannot override it
        print("Quick mode (MFCREDIT_QUICK=1 is set): small sizes, minutes at most, figures in "
              "figures/quick/. For the paper-scale run, run %env MFCREDIT_QUICK=0 in a cell (or unset it "
              "before starting Jupyter), then rerun from the parameters cell.")
    elif quick:
        print("Quick mode (quick = True): small sizes, minutes at most, figures in figures/quick/. For "
              "the paper-scale run set quick = False in the parameters cell and rerun.")
    else:
        print("Paper scale. For a small, fast run set quick = True in the parameters cell (or "
              "MFCREDIT_QUICK=1); its figures go to figures/quick/.")
    # sent now, as its own output: whatever the cell prints next cannot join it in one output or
    # not depending on timing, so a rebuilt notebook has the same outputs
    sys.stdout.flush()


def out_dir(kind: str) -> Path:
    """figures/ or results/ (with a quick/ sub-folder in quick mode)."""
    d = ROOT / kind / ("quick" if _state["quick"] else "")
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_figure(fig, name: str) -> None:
    """Write ``fig`` as figures/<name>.png and .pdf, byte-identical on rerun (no dates or versions
    inside) and atomically, then show that PNG in the notebook and close the figure."""
    import matplotlib.pyplot as plt

    d = out_dir("figures")
    blobs = {}
    for ext, meta in (("png", {"Software": None}),
                      ("pdf", {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, metadata=meta)
        blobs[ext] = buf.getvalue()
        atomic_write_bytes(d / f"{name}.{ext}", blobs[ext])
    plt.close(fig)
    show_png(blobs["png"])


def _display(kind: str, data) -> bool:
    """Show ``data`` as the cell's output ('png' bytes or 'markdown' text) when running in a kernel;
    False in plain Python (or without IPython), where nothing is shown."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, Markdown, display
    except ImportError:
        return False
    if get_ipython() is None:
        return False
    display(Image(data=data, format="png") if kind == "png" else Markdown(data))
    return True


def show_png(png: bytes) -> None:
    """Display PNG bytes as the cell's output when running in a kernel (no-op in plain Python)."""
    _display("png", png)


def table_row(*cells) -> str:
    """One row of a Markdown table: a '|' inside a cell (as in |w|) is escaped, so it does not end the cell."""
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def show_markdown(text: str) -> None:
    """Display computed Markdown (a notebook's "What we learned") in a kernel; print it elsewhere."""
    _display("markdown", text) or print(text)


class StatementError(AssertionError):
    """A sentence of a notebook's text that the numbers of this run no longer support."""


def check(condition, statement: str) -> None:
    """Hold a sentence of the notebook's prose to the numbers it runs with: raise
    :class:`StatementError` quoting ``statement`` when ``condition`` is false, so a notebook whose text
    no longer agrees with its numbers fails (under nbval and make figures) instead of misleading."""
    if not bool(condition):
        raise StatementError(f"the notebook says: \"{statement}\", but this run's numbers no longer agree. "
                             "Check what changed, then correct the text (or the code).")


#: Where the notebooks' exercise solutions live: notebooks/solutions/<notebook>.py.
SOLUTIONS = REPO / "notebooks" / "solutions"


def solutions(notebook: str) -> dict:
    """{number: (code, interpretation)} of notebooks/solutions/<notebook>.py: blocks opened by a line
    ``# %% <number>``, each split at a line ``# interpretation``, after which comes code that sets
    ``answer``, the interpretation written from the solution's numbers."""
    blocks, current, part = {}, None, 0
    for line in (SOLUTIONS / f"{notebook}.py").read_text().splitlines():
        if line.startswith("# %% "):
            current, part = int(line[5:].split()[0]), 0
            blocks[current] = ([], [])
        elif line.strip() == "# interpretation" and current is not None:
            part = 1
        elif current is not None:
            blocks[current][part].append(line)
    return {k: ("\n".join(c).strip(), "\n".join(i).strip()) for k, (c, i) in blocks.items()}


def solution(notebook: str, number: int, ns: dict) -> None:
    """Run exercise ``number``'s solution from notebooks/solutions/<notebook>.py in the notebook's
    namespace ``ns``, and show it folded (HTML <details>, closed until clicked): its code, what it
    printed, and the interpretation written from those numbers."""
    code, interp = solutions(notebook)[number]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{notebook} solution {number}", "exec"), ns)  # noqa: S102 (the repository's own file)
    exec(compile(interp, f"{notebook} interpretation {number}", "exec"), ns)  # noqa: S102
    text = (f"<details><summary>Solution {number}</summary>\n\n```python\n{code}\n```\n\nIt prints:\n\n"
            f"```\n{out.getvalue().rstrip()}\n```\n\n{ns.pop('answer')}\n\n</details>")
    show_markdown(text)


def _clean(x):
    if isinstance(x, float):
        return None if math.isnan(x) else float(f"{x:.7g}")
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "tolist"):
        return _clean(x.tolist())
    return x


def save_results(name: str, results: dict) -> Path:
    """Write results/<name>.json (floats to 7 significant digits, NaN as null), atomically."""
    path = out_dir("results") / f"{name}.json"
    atomic_write_bytes(path, (json.dumps(_clean(results), indent=1, sort_keys=True) + "\n").encode())
    return path


def load_results(name: str) -> dict:
    """Read results/<name>.json written by an earlier notebook; a clear error if it is missing."""
    path = out_dir("results") / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the notebook that writes it first (make figures)")
    return json.loads(path.read_text())


#: The packages whose versions a notebook records at its end.
PACKAGES = ("mfcredit", "torch", "numpy", "pandas", "matplotlib", "seaborn", "papermill")


def versions() -> None:
    """Print the Python and package versions this notebook ran with (no dates: reruns stay identical)."""
    import platform

    def v(p):
        try:
            return version(p)
        except PackageNotFoundError:
            return "not installed"

    print(f"Python {platform.python_version()}; " + "; ".join(f"{p} {v(p)}" for p in PACKAGES))
