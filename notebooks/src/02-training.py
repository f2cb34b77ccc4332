# %% [markdown]
# # 2. Training: gBP on MNIST against standard backprop
#
# **The question.** Does training a whole ensemble with gBP cost accuracy? The paper claims the
# ensemble's test error is "comparable or even better" than that of an ordinary network trained by
# backprop (BP) on the same data.
#
# **Why it matters.** Everything the later notebooks read off the ensemble (which connections
# matter, how many sub-networks work) is only interesting if the ensemble solves the task as well as
# one network does.
#
# **What we do.** The paper recipe (784-100-100-10, the first 10,000 MNIST training images, Adam at
# learning rate 0.1 halved every 20 epochs, Adam state reset every epoch, 200 epochs; see the
# [glossary](../docs/glossary.md)) trained from 5 seeds, and a BP network of the same widths,
# scaling, initialisation and data. The ensemble is evaluated three ways every epoch (notebook 1,
# section 7): one **sampled** network (the paper's metric), the **noisy mean field**, and the
# **eps = 0 mean field**.
#
# *Paper figure:* Fig. 1, learning curves of gBP and BP, **reconstructed**: the recipe is the
# authors', the exact content of their figure is not known to us. How runs are trained and kept:
# [docs/reading.md](../docs/reading.md).

# %% tags=["parameters"]
quick: bool = False     # True: small and fast (Binder, tests)
n_seeds: int = 5        # independent runs, seeds 0 .. n_seeds-1
epochs: int = 200
n_train: int = 10_000
batch_size: int = 500

# %%
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import mfcredit as mf

mf.nb.setup(globals())
seeds = list(range(n_seeds))
gbp_cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)
bp_cfg = gbp_cfg.bp_baseline()  # records its error on held-out training images every epoch (notebook 6)
gbp_cfg

# %%
runs = mf.sweep([(cfg, s) for cfg in (gbp_cfg, bp_cfg) for s in seeds])  # in parallel, cached
gbp_runs, bp_runs = runs[:n_seeds], runs[n_seeds:]

# %% [markdown]
# ## Learning curves
#
# Test error per epoch, mean over the seeds (line) ± one standard deviation (band). Left: the whole
# run on a log scale; right: the last three quarters on a linear scale, where the curves separate.

# %%
curves = {  # name: (colour, one curve per seed)
    "gBP, one sampled sub-network": ("C0", [r.metrics["test_error_sampled"] for r in gbp_runs]),
    "gBP, noisy mean field": ("C2", [r.metrics["test_error_mf_noisy"] for r in gbp_runs]),
    "gBP, eps = 0 mean field": ("C4", [r.metrics["test_error_mf_mean"] for r in gbp_runs]),
    "standard BP": ("C3", [r.metrics["test_error_mf_mean"] for r in bp_runs]),
}


def plot_curves(ax, start):
    ep = np.arange(1, epochs + 1)
    for name, (colour, c) in curves.items():
        c = np.asarray(c, dtype=float)
        mean, sd = c.mean(0), c.std(0, ddof=1) if len(c) > 1 else np.zeros(c.shape[1])
        ax.plot(ep[start:], mean[start:], color=colour, label=name, lw=1.3)
        ax.fill_between(ep[start:], (mean - sd)[start:], (mean + sd)[start:], color=colour, alpha=0.2, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot_curves(axes[0], 0)
plot_curves(axes[1], epochs // 4)
axes[0].set_yscale("log")
axes[0].yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
axes[0].yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
axes[0].set_yticks([3, 4, 5, 7, 10, 20])
axes[0].set_title(f"MNIST, {n_train:,} training images, {n_seeds} seeds")
axes[1].set_title(f"from epoch {epochs // 4 + 1} (linear scale)")
axes[0].legend(fontsize=9)
fig.suptitle("Learning curves, gBP vs BP (cf. paper Fig. 1, reconstructed)")
fig.tight_layout()
mf.nb.save_figure(fig, "02_learning_curves_paper-fig1")

# %% [markdown]
# ## Final test errors

# %%
per_seed = {
    "gBP, one sampled sub-network": [r.final("sampled") for r in gbp_runs],
    "gBP, noisy mean field": [r.final("mf_noisy") for r in gbp_runs],
    "gBP, eps = 0 mean field": [r.final("mf_mean") for r in gbp_runs],
    "standard BP": [r.final("mf_mean") for r in bp_runs],
}
table = {k: mf.stats.mean_sd(v) for k, v in per_seed.items()}
pd.DataFrame({k: {"test error (%), mean ± sd over seeds": f"{m:.2f} ± {s:.2f}",
                  "per seed": " ".join(f"{x:.2f}" for x in per_seed[k])} for k, (m, s) in table.items()}).T

# %% tags=["hide-input"] jupyter={"source_hidden": true}
pair = mf.stats.paired(per_seed["gBP, one sampled sub-network"], per_seed["standard BP"], "two-sided")
diff = pair["mean"]  # gBP minus BP, mean over seeds of the per-seed difference
saved = mf.nb.save_results("training", {
    "seeds": seeds, "n_train": n_train, "epochs": epochs,
    "final": {k: {"mean": m, "sd": s} for k, (m, s) in table.items()},
    "per_seed": per_seed,
})
print("wrote", saved.relative_to(mf.nb.ROOT))

# %% [markdown]
# ## What we learned

# %% tags=["hide-input"] jupyter={"source_hidden": true}
(g_m, g_s), (b_m, b_s) = table["gBP, one sampled sub-network"], table["standard BP"]
mf.nb.show_markdown(f"""
- Over {n_seeds} seeds, one sampled network of the trained ensemble errs on **{g_m:.2f} ± {g_s:.2f} %** of
  the test images, standard BP with gBP's untuned recipe on **{b_m:.2f} ± {b_s:.2f} %**: seed by seed, gBP is
  {abs(diff):.2f} ± {pair['se']:.2f} points (mean ± standard error of the paired difference, two-sided paired t-test
  p = {pair['p']:.3f}) {'better' if diff < 0 else 'worse'} than this untuned BP. Each seed's number is one sub-network, the one drawn at the last epoch;
  notebook 4 averages 100 of them per seed, and notebook 9 turns that into a verdict on the paper's claim.
- The three evaluations of the ensemble end close together: noisy mean field
  {table['gBP, noisy mean field'][0]:.2f} %, eps = 0 mean field {table['gBP, eps = 0 mean field'][0]:.2f} %.
- BP here uses gBP's recipe (learning rate, schedule, epochs) untuned: a BP with its own tuned learning rate
  is the fairer baseline, which notebook 6 trains (learning rate chosen on validation images).
""")

# %% [markdown]
# ## Try it
#
# 1. **How much of the final accuracy is reached early?** Print the mean error of the learning curve's
#    sampled sub-network at epochs 10 and 50 and at the last one. *Expect:* most of the way down within
#    the first few tens of epochs; the halving learning rate makes the rest slow.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("02-training", 1, globals())

# %% [markdown]
# 2. **The authors' 2022 variant, at equal length.** Train the variant (`mf.recipe_2022`) and the
#    paper recipe for the same few epochs on the same data and seed, and compare their errors.
#    *Expect:* close errors; the recipes differ more in their categories (notebooks 3 and 6).

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("02-training", 2, globals())

# %% [markdown]
# 3. **A smaller training set.** Train gBP and BP for a few epochs on the first 2,000 images and
#    compare. *Expect:* both worse than with 10,000 images.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("02-training", 3, globals())

# %%
mf.nb.versions()
