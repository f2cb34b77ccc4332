"""Notebook 1's gBP from scratch, run outside the notebook.

The code cells of notebooks/src/01-theory.py tagged "from-scratch" (a training loop in plain torch:
the mean-field pass, the closed-form gradients, AdamW, the projection, Adam's reset and the halved
learning rate at every epoch, then its comparison with ``mf.train``) are executed here in order, in
one namespace, exactly as the notebook has them. The test then holds the loop's parameters to
``mf.train``'s within the tolerance the notebook states, and shows that this comparison can fail:
the decay moved after Adam's update, Adam's state kept across epochs, or one layer's error signal
rounded through float32 each miss the tolerance.
"""
import math
from pathlib import Path

import jupytext
import pytest
import torch

import mfcredit as mf

SOURCE = Path(mf.nb.REPO) / "notebooks" / "src" / "01-theory.py"
TAG = "from-scratch"
#: The functions that make up the loop; they must use neither mfcredit nor autograd.
LOOP = ("init_params", "forward", "backward", "new_adam", "adamw_step", "one_epoch", "train_from_scratch")


def tagged_cells() -> list[str]:
    nb = jupytext.read(SOURCE)
    return [c.source for c in nb.cells if c.cell_type == "code" and TAG in c.metadata.get("tags", [])]


@pytest.fixture(scope="module")
def ns():
    """The notebook's from-scratch cells, executed in order in one namespace with what the notebook
    defines before them: math, torch, mf, the data (first 1,000 training images; 500 test images,
    which only mf.train's evaluation reads) and the seed."""
    full = mf.load_dataset("mnist", n_train=1000)
    data = mf.Data(full.x_train, full.y_train, full.x_test[:500], full.y_test[:500])
    space = {"math": math, "torch": torch, "mf": mf, "data": data, "seed": 0}
    for i, src in enumerate(tagged_cells()):
        exec(compile(src, f"01-theory from-scratch cell {i + 1}", "exec"), space)  # noqa: S102 (the repository's own)
    return space


def difference(params, reference) -> float:
    """Written again here, not taken from the notebook: per tensor max |a - b| / max |b|, the worst."""
    return max(((p[k] - reference.params[k][l]).abs().max() / reference.params[k][l].abs().max()).item()
               for l, p in enumerate(params) for k in ("pi", "m", "xi"))


def test_the_loop_is_plain_torch():
    cells = tagged_cells()
    assert len(cells) >= 6, "notebook 1 lost its from-scratch cells"
    loop = [c for c in cells if any(f"def {name}(" in c for name in LOOP)]
    assert {name for c in loop for name in LOOP if f"def {name}(" in c} == set(LOOP)
    for c in loop:
        assert "mf." not in c and "mfcredit" not in c, c.splitlines()[0]
        assert "autograd" not in c and ".backward(" not in c and "requires_grad" not in c, c.splitlines()[0]
    assert all(len(c.splitlines()) <= 25 for c in cells)


def test_from_scratch_equals_mf_train(ns):
    assert ns["TOL"] == 1e-10  # the tolerance the notebook states
    ref = ns["reference"]
    assert ref.config.dtype == "float64" and ref.metrics["lr"] == [0.1, 0.05, 0.025] and all(ref.metrics["adam_fresh"])
    assert ns["same_order"] is True
    with torch.no_grad():  # no autograd anywhere in the loop: it runs the same with it switched off
        params, losses = ns["train_from_scratch"](ns["seed"])
    assert not any(p[k].requires_grad for p in params for k in ("pi", "m", "xi"))
    d = difference(params, ref)
    assert d == difference(ns["scratch"], ref) <= ns["TOL"]
    assert losses == pytest.approx(ref.metrics["train_loss"], rel=1e-12)
    # the run is not trivial: the parameters moved far from their start, and some landed on the boundary
    start = ns["init_params"](torch.Generator().manual_seed(ns["seed"]))
    assert max((p["m"] - s["m"]).abs().max().item() for p, s in zip(params, start)) > 0.1
    assert any((p["xi"] == 0).any() for p in params) and any((p["pi"] > 0).any() for p in params)


@pytest.mark.parametrize("wrong", [{"decay_first": False}, {"reset_adam": False}], ids=["decay-after-adam", "no-reset"])
def test_wrong_optimiser_misses_the_tolerance(ns, wrong):
    params, _ = ns["train_from_scratch"](ns["seed"], **wrong)
    d = difference(params, ns["reference"])
    assert d > 1e3 * ns["TOL"]
    assert ns["variants"]["decay after Adam's update" if "decay_first" in wrong else "no Adam reset"] == d
    with pytest.raises(mf.nb.StatementError):
        mf.nb.check(d <= ns["TOL"], "the loop's parameters equal mf.train's to a relative 1e-10")


def test_a_float32_rounding_misses_the_tolerance(ns):
    """The tolerance is tight: ReLU's derivative left as a bool mask makes ``mask * s`` a float32 tensor,
    a relative error of about 1e-8 in the error signal of the first layer, and the check catches it."""
    src = next(c for c in tagged_cells() if "def backward(" in c)
    assert "fprime = (cache[l - 1][1] > 0).to(F64)" in src
    right = ns["backward"]
    try:
        exec(src.replace("(cache[l - 1][1] > 0).to(F64)", "(cache[l - 1][1] > 0)"), ns)  # noqa: S102
        params, _ = ns["train_from_scratch"](ns["seed"])
    finally:
        ns["backward"] = right
    assert difference(params, ns["reference"]) > ns["TOL"]
    assert difference(ns["train_from_scratch"](ns["seed"])[0], ns["reference"]) <= ns["TOL"]  # restored
