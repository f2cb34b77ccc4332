# %% [markdown]
# # Learning credit assignment: a reproducible companion
#
# These notebooks rebuild, explain and test **"Learning credit assignment"** by Chan Li and Haiping
# Huang, Phys. Rev. Lett. 125, 178301 (2020),
# [doi:10.1103/PhysRevLett.125.178301](https://doi.org/10.1103/PhysRevLett.125.178301),
# [arXiv:2001.03354](https://arxiv.org/abs/2001.03354).
#
# Instead of one network, the paper trains an *ensemble*: every connection $w$ is drawn from a
# spike-and-slab distribution $P(w) = \pi\,\delta(w) + (1-\pi)\,\mathcal N(w; m, \Xi)$, and a
# mean-field backpropagation (gBP) learns $(\pi, m, \Xi)$ for every connection. After training the
# connections fall into three kinds (very important, unimportant, variable), and every network
# sampled from the distribution solves the task.
#
# ## Reading order
#
# | notebook | the question it answers | paper figure |
# |---|---|---|
# | [1. Theory](01-theory.ipynb) | What is the model, why is its mean field Gaussian, and what is gBP? Checked against sampling and autograd; an explorer for $P(w)$; the whole training loop written once in plain torch. | derivation |
# | [2. Training](02-training.ipynb) | Does the ensemble learn MNIST as well as a network trained by backprop? | Fig. 1 (reconstructed) |
# | [3. Weights](03-weights.ipynb) | Which connections does the ensemble call very important, unimportant or variable, and how much does that depend on the optimiser? A browser over hidden units. | Fig. 2 (reconstructed) |
# | [4. Ensemble](04-ensemble.ipynb) | Do sampled sub-networks all work, and does removing "important" connections hurt? | Fig. 3 (reconstructed) |
# | [5. Entropy](05-entropy.ipynb) | How random do connections stay, by layer and training-set size? | Fig. 4 (reconstructed) |
# | [6. Controls](06-controls.ipynb) | Is gBP still as good as BP when BP gets a tuned learning rate, early stopping and dropout? Which detail of the training recipe decides how many connections end exactly absent or very important (one detail at a time, in both directions, and two together)? | |
# | [7. Beyond the paper](07-beyond.ipynb) | Is the ensemble's credit a better guide for pruning than the size of a weight? Are its probabilities calibrated, against a temperature-scaled network; does it know when an image is of an unfamiliar kind; do the claims hold on Fashion-MNIST? | beyond the paper |
# | [8. Planted problems](08-planted.ipynb) | Does the ensemble find connections that are known to be unneeded: planted noise pixels, and the inputs a teacher network ignores? | beyond the paper |
# | [9. Claims](09-claims.ipynb) | Which of the paper's claims hold here, on MNIST and Fashion-MNIST, with numbers and stated rules? | |
#
# "Reconstructed" means that the recipe is the authors' but the exact content of their figure is
# not known to us, so the figure shows what the text describes. Every symbol is in the
# [notation and glossary](../docs/glossary.md). Each notebook opens with its question, closes with
# "What we learned" (numbers computed by that run) and exercises, each with what to expect and a
# worked solution, run with the notebook and folded until clicked.
#
# ## Two modes
#
# Every notebook has a parameters cell whose first line is `quick: bool = False`. **Paper scale**
# (`quick = False`) is what the committed notebooks and `figures/` show. **Quick mode**
# (`quick = True`, or the environment variable `MFCREDIT_QUICK=1`) shrinks every size so a notebook
# runs in a minute or two; its figures go to `figures/quick/`, never over the paper-scale ones.
# How the notebooks are rebuilt, and where trained runs are kept: [docs/reading.md](../docs/reading.md).
#
# ## Rebuild everything, or use the package
#
# From a clone of the repository, `make figures` reruns every notebook at paper scale and rewrites
# `figures/` and `results/`; `make test` runs the unit tests and every notebook in quick mode. The
# package behind the notebooks is `mfcredit`:
#
# ```python
# import mfcredit as mf
# data = mf.load_dataset("mnist", n_train=10_000)
# run = mf.train(mf.TrainConfig(epochs=20), seed=0, data=data)
# mf.evaluate(run.network(), data.x_test, data.y_test)   # sampled / noisy mean field / eps = 0
# ```
#
# See the [README](../README.md) for the package's use and the [docs](../docs/) for performance and
# testing.
#
# ## How long each notebook takes
#
# In the last build from scratch (an empty training cache: `make figures RETRAIN=1`, or
# `make figures QUICK=1 RETRAIN=1` for quick mode; recorded in `results/timings.json` and
# `results/quick/timings.json`; the second is not committed, so its column appears once quick mode
# has been built on your machine). With its runs cached a notebook takes seconds to a few minutes.

# %% tags=["parameters"]
quick: bool = False

# %%
import json

import pandas as pd

import mfcredit as mf

mf.nb.setup(globals())


def timings(kind):
    path = mf.nb.ROOT / "results" / ("quick" if kind == "quick" else "") / "timings.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def shown(t):
    if t is None:
        return "not measured yet"
    s = t["seconds"]
    return (f"{s:.0f} s" if s < 60 else f"{s / 60:.1f} min") + f" ({t['runs_trained']} runs trained)"


paper, small = timings("paper"), timings("quick")
measured = {k: v for k, v in {"paper scale": paper, "quick mode": small}.items() if v}  # quick: once run here
pd.DataFrame({name: {k: shown(v.get(name)) for k, v in measured.items()} for name in sorted(set(paper) | set(small))}).T

# %%
mf.nb.versions()
