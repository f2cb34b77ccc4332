"""Notebook plumbing: parameter checks, quick mode, deterministic figure files, result files.

Every notebook starts with ``quick = mf.nb.setup(quick)`` and saves with :func:`save_figure` and
:func:`save_results`. Paper-scale output goes to ``figures/`` and ``results/``; quick-mode output to
``figures/quick/`` and ``results/quick/`` (git-ignored), so a quick run never overwrites the
committed paper-scale figures.
"""
from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path

from .utils import atomic_write_bytes

#: The repository (README.md, notebooks/).
REPO = Path(__file__).resolve().parents[1]
#: Where figures/, results/ and build/ go: $MFCREDIT_OUTPUT if set (read at import), else the repository.
ROOT = Path(os.environ.get("MFCREDIT_OUTPUT") or REPO).resolve()

#: The small sizes every notebook uses in quick mode (Binder, nbval).
QUICK = dict(n_train=1000, epochs=4, batch_size=100, n_seeds=2, n_samples=20, n_perturb=2, n_runs=2,
             entropy_sizes=(500, 1000), entropy_epochs=3, n_mc_samples=2000)

_state = {"quick": False}


def _as_bool(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", ""):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"notebook parameter {name!r} must be True or False, got {value!r}")


def setup(quick=False) -> bool:
    """Validate ``quick`` (papermill may pass the string "false"), honour MFCREDIT_QUICK=1, set the
    plotting style and a non-interactive-safe, deterministic matplotlib configuration. Returns quick."""
    import matplotlib
    import seaborn as sns

    quick = _as_bool("quick", quick) or _as_bool("MFCREDIT_QUICK", os.environ.get("MFCREDIT_QUICK", "0"))
    _state["quick"] = quick
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight",
                                "svg.hashsalt": "mfcredit", "figure.max_open_warning": 0})
    return quick


def param(name: str, value, kind=int, lo=None, hi=None):
    """Check one notebook parameter's type and range; return it. Raises ValueError naming it."""
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"notebook parameter {name!r} must be an integer, got {value!r}")
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"notebook parameter {name!r} must be a finite number, got {value!r}")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ValueError(f"notebook parameter {name!r} must be in [{lo}, {hi}], got {value!r}")
    return value


def out_dir(kind: str) -> Path:
    """figures/ or results/ (with a quick/ sub-folder in quick mode)."""
    d = ROOT / kind / ("quick" if _state["quick"] else "")
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_figure(fig, name: str) -> Path:
    """Write ``fig`` as figures/<name>.png and .pdf, byte-identical on rerun (no dates or versions
    inside) and atomically (a killed run never leaves a half-written figure)."""
    d = out_dir("figures")
    for ext, meta in (("png", {"Software": None}),
                      ("pdf", {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, metadata=meta)
        atomic_write_bytes(d / f"{name}.{ext}", buf.getvalue())
    return d / f"{name}.png"


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


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (sd = 0 for a single value)."""
    v = [float(x) for x in values]
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, sd
