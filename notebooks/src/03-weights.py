# %% [markdown]
# # 3. Weight classification: very important, unimportant and variable connections
#
# **What this notebook shows.** After training, many $\pi$ sit exactly on 0 or 1 and many $\Xi$
# exactly on 0 (the projection after each Adam step puts them there). That splits the connections
# into three kinds (`paper.md` §4):
#
# - **VIP** (very important): $\pi = 0$ and $\Xi = 0$, always present with one fixed value;
# - **UIP** (unimportant): $\pi = 1$, always absent: it can be pruned;
# - **variable**: everything else, a genuinely random connection.
#
# We show the distributions of $\pi, m, \Xi$ per layer, the category fractions (exact, and with a
# tolerance, mean ± sd over seeds), where the categories sit on the 28×28 input, and how much all of
# this changes under the authors' 2022 variant of the optimiser.
#
# **Paper figure.** Fig. 2, parameter distributions and category fractions: *reconstructed*.

# %% tags=["parameters"]
quick = False
n_seeds = 5
epochs = 200
n_train = 10_000
batch_size = 500
tol = 1e-6             # tolerance of the relaxed categories (see below)
variant_epochs = 100   # the 2022 variant's length

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

quick = mf.nb.setup(quick)
if quick:
    n_seeds, epochs, n_train, batch_size = (mf.nb.QUICK[k] for k in ("n_seeds", "epochs", "n_train", "batch_size"))
    variant_epochs = epochs
for name in ("n_seeds", "epochs", "n_train", "batch_size", "variant_epochs"):
    mf.nb.param(name, globals()[name], int, 1)
mf.nb.param("tol", tol, float, 0.0, 0.5)
torch.set_num_threads(mf.default_threads())
seeds = list(range(n_seeds))
data = mf.load_dataset("mnist", n_train=n_train)
paper_cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)
variant_cfg = mf.recipe_2022(epochs=variant_epochs, n_train=n_train, batch_size=batch_size)
runs = {"paper 2020": [mf.cached_train(paper_cfg, seed=s, data=data) for s in seeds],
        "2022 variant": [mf.cached_train(variant_cfg, seed=s, data=data) for s in seeds]}
layers = [f"layer {l + 1} ({a}→{b})" for l, (a, b) in enumerate(zip(paper_cfg.widths[:-1], paper_cfg.widths[1:]))]

# %% [markdown]
# ## Distributions of $\pi$, $m$ and $\Xi$ (paper recipe, all seeds pooled)
#
# Counts on a log scale, so that the spikes at the boundaries and the broad bulk are both visible.

# %%
fig, axes = plt.subplots(3, len(layers), figsize=(12, 8))
for r, key in enumerate(("pi", "m", "xi")):
    for l in range(len(layers)):
        v = torch.cat([run.params[key][l].flatten() for run in runs["paper 2020"]]).numpy()
        ax = axes[r, l]
        ax.hist(v, bins=100, color=f"C{r}", log=True)
        ax.set_xlabel({"pi": r"$\pi$", "m": r"$m$", "xi": r"$\Xi$"}[key])
        if r == 0:
            ax.set_title(layers[l])
fig.tight_layout()
mf.nb.save_figure(fig, "fig3a_parameter_histograms")
plt.show()

# %% [markdown]
# ## Category fractions per layer
#
# Exact (as in the authors' analysis) and with the tolerance `tol`; mean ± sd over seeds.

# %%
def fractions(recipe, tolerance):
    rows = []
    for run in runs[recipe]:
        for l, row in enumerate(mf.category_fractions(run.params, tolerance)):
            rows.append({"recipe": recipe, "tol": tolerance, "layer": l + 1, "seed": run.seed, **row})
    return rows


frac = pd.DataFrame([r for recipe in runs for t in (0.0, tol) for r in fractions(recipe, t)])
cols = ["VIP", "UIP", "variable", "pi==0", "pi==1", "xi==0"]
summary = (100 * frac.groupby(["recipe", "tol", "layer"])[cols].agg(["mean", "std"])).round(2)
summary

# %%
exact = frac[frac.tol == 0.0]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=False)
for ax, cat in zip(axes, ("VIP", "UIP", "variable")):
    g = 100 * exact.groupby(["layer", "recipe"])[cat].agg(["mean", "std"]).unstack("recipe")
    g["mean"].plot.bar(yerr=g["std"].fillna(0), ax=ax, capsize=3, rot=0)
    ax.set_title(f"{cat} (exact)")
    ax.set_ylabel("% of the layer's connections")
    ax.legend(fontsize=8)
fig.tight_layout()
mf.nb.save_figure(fig, "fig3b_category_fractions")
plt.show()

# %% [markdown]
# ## Where the categories sit on the input (first layer)
#
# Each hidden unit has one connection per pixel. Top row: averaged over the 100 hidden units (all
# seeds) — the mean $\pi$ per pixel, and the fraction of VIP and UIP connections per pixel. Bottom
# row: $\pi$ of four hidden units of seed 0.

# %%
pi1 = torch.stack([run.params["pi"][0] for run in runs["paper 2020"]])  # (seeds, 100, 784)
xi1 = torch.stack([run.params["xi"][0] for run in runs["paper 2020"]])
cat1 = mf.categories(pi1, xi1)
maps = {"mean $\\pi$": pi1.mean((0, 1)), "VIP fraction": (cat1 == 0).float().mean((0, 1)),
        "UIP fraction": (cat1 == 1).float().mean((0, 1)), "variable fraction": (cat1 == 2).float().mean((0, 1))}
fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
for ax, (name, img) in zip(axes[0], maps.items()):
    im = ax.imshow(img.reshape(28, 28).numpy(), cmap="viridis")
    ax.set_title(name)
    fig.colorbar(im, ax=ax, fraction=0.046)
for ax, unit in zip(axes[1], (0, 1, 2, 3)):
    im = ax.imshow(pi1[0, unit].reshape(28, 28).numpy(), cmap="magma", vmin=0, vmax=1)
    ax.set_title(f"$\\pi$ of hidden unit {unit} (seed 0)")
    fig.colorbar(im, ax=ax, fraction=0.046)
for ax in axes.flat:
    ax.set_xticks([]), ax.set_yticks([])
fig.tight_layout()
mf.nb.save_figure(fig, "fig3c_first_layer_maps")
plt.show()

# %% [markdown]
# Border pixels are blank in every MNIST image: their input is always 0, so nothing drives their
# $\pi$ and $\Xi$ except the weight decay on $\Xi$ and the initial value of $\pi$ = 0. Whatever the
# categories say about them is about the optimiser, not about the task.
#
# ## How much the optimiser details matter: 2022 variant vs paper recipe
#
# The 2022 variant keeps Adam's state, does not halve the learning rate, decays $\pi$ too, and trains
# 100 epochs. Same data, same seeds.

# %%
ex = exact.groupby(["recipe", "layer"])[["VIP", "UIP", "variable", "pi==1", "xi==0"]].mean().mul(100)
change = (ex.loc["2022 variant"] - ex.loc["paper 2020"]).round(2)
errors = pd.DataFrame({recipe: {m: mf.nb.mean_sd([r.final(m) for r in rs])[0] for m in ("sampled", "mf_noisy", "mf_mean")}
                       for recipe, rs in runs.items()}).round(2)
print("category fractions, 2022 variant minus paper recipe (percentage points):")
display(change)
print("final test error (%), mean over seeds:")
errors

# %%
saved = mf.nb.save_results("weights", {
    "tol": tol,
    "fractions": {f"{recipe}|tol={t}": {f"layer{l}": {c: {"mean": float(summary.loc[(recipe, t, l), (c, 'mean')]),
                                                           "sd": float(summary.loc[(recipe, t, l), (c, 'std')])}
                                                       for c in cols}
                                       for l in range(1, len(layers) + 1)}
                  for recipe in runs for t in (0.0, tol)},
    "variant_minus_paper": change.to_dict(orient="index"),
    "errors": errors.to_dict(),
})
print("wrote", saved.relative_to(mf.nb.ROOT))
