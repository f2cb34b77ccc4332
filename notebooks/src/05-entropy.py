# %% [markdown]
# # 5. Entropy of the connections, by layer and training-set size
#
# **What this notebook shows.** How random each connection remains after training, measured by the
# entropy $S = -\int P\ln P$ of its spike-and-slab distribution, averaged per layer, for a 5-layer
# network trained on $M$ = 10k, 20k, 30k and 40k images (error bars over independent runs).
#
# **Paper figure.** Fig. 4, entropy per layer vs data size: *reconstructed*. The widths of the
# paper's 5-layer net are not known: we assume 784-100-100-100-10 (`paper.md` §4). The authors'
# plot spans $S \in [-0.4, 0.65]$.
#
# ## The estimator
#
# The spike $\delta(w)$ has no finite entropy, so it is regularised as a box of height $0.5\cdot10^4$
# on $|w| < 10^{-4}$. Closed forms: $S = 0$ for $\pi = 1$, and for $\Xi \le 10^{-8}$ with $m = 0$ or
# $\pi = 0$; $S = -\pi\ln\pi - (1-\pi)\ln(1-\pi)$ for $\Xi \le 10^{-8}$, $0<\pi<1$. Otherwise a Monte
# Carlo estimate with 100 draws $w_s = m + \sqrt{\Xi}\,\epsilon_s$:
#
# $$S = -\pi\ln\big(\pi + (1-\pi)\mathcal N(0; m, \Xi) + 10^{-6}\big) - (1-\pi)\,\frac{1}{100}\sum_s
# \ln\Big[\pi\,\delta_{\rm reg}(w_s) + (1-\pi)\frac{e^{-\epsilon_s^2/2}}{\sqrt{2\pi\Xi}}\Big].$$
#
# At $\pi = 0$ it tends to the Gaussian entropy $\tfrac12\ln(2\pi e\Xi)$, negative when
# $\Xi < 1/(2\pi e) \approx 0.059$: small slab variances give negative entropy.

# %% tags=["parameters"]
quick = False
sizes = [10_000, 20_000, 30_000, 40_000]   # training-set sizes M (first M images)
n_runs = 3           # independent runs (seeds) per size
epochs = 200
batch_size = 500
n_mc = 100           # Monte Carlo draws per connection

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

quick = mf.nb.setup(quick)
if quick:
    sizes, n_runs, epochs, batch_size = (list(mf.nb.QUICK["entropy_sizes"]), mf.nb.QUICK["n_runs"],
                                         mf.nb.QUICK["entropy_epochs"], mf.nb.QUICK["batch_size"])
for name, lo in (("n_runs", 1), ("epochs", 1), ("batch_size", 1), ("n_mc", 1)):
    mf.nb.param(name, globals()[name], int, lo)
if not sizes or not all(isinstance(M, int) and 1 <= M <= 60_000 for M in sizes):
    raise ValueError(f"notebook parameter 'sizes' must list integers in [1, 60000], got {sizes!r}")
torch.set_num_threads(mf.default_threads())
widths = (784, 100, 100, 100, 10)

# %% [markdown]
# ### The closed-form limits, checked

# %%
d = dict(dtype=torch.float64)
pi = torch.tensor([1.0, 0.0, 0.3, 0.0], **d)
m = torch.tensor([0.5, 0.7, 0.7, 0.2], **d)
xi = torch.tensor([0.2, 0.0, 0.0, 0.01], **d)
S = mf.connection_entropy(pi, m, xi, n_mc=100_000, generator=mf.generator(0))
expected = [0.0, 0.0, -0.3 * math.log(0.3) - 0.7 * math.log(0.7), 0.5 * math.log(2 * math.pi * math.e * 0.01)]
pd.DataFrame({"pi": pi, "m": m, "xi": xi, "S (estimator)": S, "S (closed form)": expected}).round(4)

# %%
# NBVAL_CHECK_OUTPUT
print("limits reproduced (|difference| < 0.01):", bool(torch.allclose(S, torch.tensor(expected, **d), atol=0.01)))

# %% [markdown]
# ## Training the 5-layer nets
#
# The paper recipe with the first $M$ training images; the test set is evaluated only at the end.

# %%
data = mf.load_dataset("mnist")
rows = []
for M in sizes:
    cfg = mf.TrainConfig(widths=widths, n_train=M, epochs=epochs, batch_size=batch_size, eval_every=epochs)
    for r in range(n_runs):
        run = mf.cached_train(cfg, seed=r, data=data)
        S_layers = mf.layer_entropies(run.params, n_mc=n_mc, generator=mf.generator(1000 + r))
        rows.append({"M": M, "seed": r, "test error (%)": run.final("sampled"),
                     **{f"layer {l + 1}": s for l, s in enumerate(S_layers)}})
ent = pd.DataFrame(rows)
ent.round(3)

# %%
layer_cols = [c for c in ent.columns if c.startswith("layer")]
agg = ent.groupby("M")[layer_cols].agg(["mean", "std"])
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for i, M in enumerate(sizes):
    axes[0].errorbar(np.arange(1, len(layer_cols) + 1) + 0.05 * (i - 1.5), agg.loc[M].xs("mean", level=1),
                     yerr=agg.loc[M].xs("std", level=1).fillna(0), marker="o", capsize=3, label=f"M = {M:,}")
axes[0].set_xlabel("weight layer")
axes[0].set_ylabel("mean connection entropy S")
axes[0].set_xticks(range(1, len(layer_cols) + 1))
axes[0].axhline(0, color="k", lw=0.6)
axes[0].legend(fontsize=8)
for l, c in enumerate(layer_cols):
    axes[1].errorbar(sizes, agg[(c, "mean")], yerr=agg[(c, "std")].fillna(0), marker="o", capsize=3, label=c)
axes[1].set_xlabel("training-set size M")
axes[1].set_ylabel("mean connection entropy S")
axes[1].legend(fontsize=8)
fig.suptitle(f"5-layer net {'-'.join(map(str, widths))}, {n_runs} runs per size (error bars: sd)")
fig.tight_layout()
mf.nb.save_figure(fig, "fig5_entropy")
plt.show()

# %%
saved = mf.nb.save_results("entropy", {
    "widths": list(widths), "sizes": sizes, "n_runs": n_runs,
    "per_run": ent.to_dict(orient="records"),
    "mean": {str(M): [float(agg.loc[M, (c, "mean")]) for c in layer_cols] for M in sizes},
    "sd": {str(M): [float(agg.loc[M, (c, "std")]) for c in layer_cols] for M in sizes},
})
print("wrote", saved.relative_to(mf.nb.ROOT))
