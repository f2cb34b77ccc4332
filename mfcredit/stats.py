"""Statistics over seeds: mean and standard deviation, and the paired comparison of two quantities
measured on the same seeds (each seed trains one network; both quantities are read off it).

    mf.stats.mean_sd([3.5, 3.6, 3.7])                  # (3.6, 0.1)
    mf.stats.paired([0.9, 1.1, 0.8], [0.1, 0.0, 0.2])  # mean difference, its standard error, t, p
    mf.stats.plus_minus(0.01834, 0.00731)              # "+0.0183 ± 0.0073"
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import stdtr  # Student's t CDF (scipy.stats itself costs a kernel ~50 MB more)


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (sd = 0 for a single value)."""
    v = [float(x) for x in values]
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, sd


def over_seeds(values) -> dict:
    """{'mean', 'sd'} (as lists, or floats for scalars) over the first axis of ``values`` (seeds, ...).
    NaN entries (a curve point that a seed lacks) are left out; sd = 0 for a single seed."""
    v = np.array(values, dtype=float)
    mean = np.nanmean(v, 0) if np.isfinite(v).any() else v[0]
    sd = np.nanstd(v, 0, ddof=1) if len(v) > 1 else 0 * mean
    return {"mean": mean.tolist(), "sd": sd.tolist()}


def paired(a, b, alternative: str = "greater") -> dict:
    """The paired comparison of ``a`` and ``b``, one value of each per seed (same order): the
    differences d = a - b, their mean, its standard error sd(d) / sqrt(n), and Student's paired
    t-test of mean(d) = 0 with n - 1 degrees of freedom (t = mean / se; ``alternative`` 'greater':
    the one-sided p-value of mean(d) > 0, 'two-sided' or 'less'). Needs at least 2 seeds.

    Returns {'n', 'diff' (per seed), 'mean', 'se', 't', 'df', 'p'}; t and p are NaN where every
    difference is the same (se = 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"paired: needs two equally long lists of at least 2 values, got shapes {a.shape}, {b.shape}")
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"paired: alternative must be 'greater', 'less' or 'two-sided', got {alternative!r}")
    d = a - b
    se = d.std(ddof=1) / math.sqrt(len(d))
    if se == 0:
        t = p = math.nan
    else:
        t = float(d.mean() / se)
        p = float({"greater": stdtr(len(d) - 1, -t), "less": stdtr(len(d) - 1, t),
                   "two-sided": 2 * stdtr(len(d) - 1, -abs(t))}[alternative])
    return {"n": len(d), "diff": d.tolist(), "mean": float(d.mean()), "se": float(se), "t": t, "df": len(d) - 1, "p": p}


def plus_minus(mean: float, spread: float, least: int = 3) -> str:
    """'mean ± spread' with the mean signed and both given to the decimals that the spread needs for
    two significant digits (never fewer than ``least``): (0.01834, 0.00731) -> '+0.0183 ± 0.0073'."""
    d = max(least, 1 - math.floor(math.log10(spread))) if spread > 0 else least
    return f"{mean:+.{d}f} ± {spread:.{d}f}"
