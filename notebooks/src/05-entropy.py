# %% [markdown]
# # 5. Entropy of the connections, by layer and training-set size
#
# **The question.** How random does each connection stay after training, layer by layer, and does
# more data make the network more certain? The paper claims that the per-layer entropy of the
# connections varies with depth and with the size of the training set.
#
# **Why it matters.** The categories of notebook 3 are all-or-nothing; the entropy
# $S = -\int P\ln P$ of each connection's distribution measures the same uncertainty on a continuous
# scale, and its layer average shows where in the network the ensemble keeps its freedom.
#
# **What we do.** A 5-layer network trained by the paper recipe on the first $M$ = 10k, 20k, 30k
# and 40k images, several independent runs per size; the layer-averaged entropy with error bars
# over runs.
#
# *Paper figure:* Fig. 4, entropy per layer vs data size, **reconstructed**. The widths of the
# paper's 5-layer network are not known to us: we assume 784-100-100-100-10. Symbols:
# [glossary](../docs/glossary.md).
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
# $\Xi < 1/(2\pi e) \approx 0.059$. Note the jump this implies: a connection with $\pi = 0$ and $\Xi$ just
# above $10^{-8}$ has $S \approx \tfrac12\ln(2\pi e\cdot10^{-8}) \approx -7.8$, while at $\Xi \le 10^{-8}$ the
# closed form gives $S = 0$. Layer means
# therefore depend on how many $\Xi$ the optimiser puts exactly on 0.

# %% tags=["parameters"]
quick: bool = False
sizes: list = [10_000, 20_000, 30_000, 40_000]   # training-set sizes M (first M images)
n_runs: int = 3         # independent runs (seeds) per size
epochs: int = 200
batch_size: int = 500
n_mc: int = 100         # Monte Carlo draws per connection

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

mf.nb.setup(globals())
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
jobs = [(mf.TrainConfig(widths=widths, n_train=M, epochs=epochs, batch_size=batch_size, eval_every=epochs), r)
        for M in sizes for r in range(n_runs)]
rows = []
for (cfg, r), run in zip(jobs, mf.sweep(jobs)):
    S_layers = mf.layer_entropies(run.params, n_mc=n_mc, generator=mf.generator(1000 + r))
    rows.append({"M": cfg.n_train, "seed": r, "test error (%)": run.final("sampled"),
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
fig.suptitle(f"Connection entropy, 5-layer net {'-'.join(map(str, widths))}, {n_runs} runs per size, "
             "error bars: sd (cf. paper Fig. 4, reconstructed)", fontsize=11)
fig.tight_layout()
mf.nb.save_figure(fig, "05_entropy_paper-fig4")

# %%
saved = mf.nb.save_results("entropy", {
    "widths": list(widths), "sizes": sizes, "n_runs": n_runs,
    "per_run": ent.to_dict(orient="records"),
    "mean": {str(M): [float(agg.loc[M, (c, "mean")]) for c in layer_cols] for M in sizes},
    "sd": {str(M): [float(agg.loc[M, (c, "std")]) for c in layer_cols] for M in sizes},
})
print("wrote", saved.relative_to(mf.nb.ROOT))

# %% [markdown]
# ## What we learned

# %%
m0, m1 = agg.loc[sizes[0]].xs("mean", level=1), agg.loc[sizes[-1]].xs("mean", level=1)
noise = agg.xs("std", axis=1, level=1).max().max()
mf.nb.show_markdown(f"""
- At $M$ = {sizes[0]:,} the layer means are {', '.join(f'{v:.3f}' for v in m0)} (layers 1 to {len(m0)}): the
  entropy changes with depth by up to {m0.max() - m0.min():.3f}, against a largest sd over runs of {noise:.3f}.
- From $M$ = {sizes[0]:,} to {sizes[-1]:,} the layer means move by at most {(m1 - m0).abs().max():.3f}.
  {'That is within twice the run-to-run sd: with ' + str(n_runs) + ' runs per size this study cannot tell a change with data size from noise.' if (m1 - m0).abs().max() <= 2 * noise else 'That exceeds twice the run-to-run sd.'}
- Negative values are not an error: the slab's Gaussian entropy is negative for variances below 0.059.
""")

# %% [markdown]
# ## Try it
#
# 1. Which kinds of connection carry the entropy? Split the first layer of one run by category and
#    average the entropy of each.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    p = run.params
#    S1 = mf.connection_entropy(p["pi"][0], p["m"][0], p["xi"][0], n_mc=n_mc, generator=mf.generator(0))
#    c = mf.categories(p["pi"][0], p["xi"][0])
#    print({name: S1[c == k].mean().item() for k, name in enumerate(("VIP", "UIP", "variable"))})
#    ```
#    </details>
#
# 2. Check the jump described above: the entropy of $(\pi, m, \Xi) = (0, 0.5, 10^{-8})$ and of
#    $(0, 0.5, 0)$.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    t = lambda *v: torch.tensor(v, dtype=torch.float64)
#    print(mf.connection_entropy(t(0.0, 0.0), t(0.5, 0.5), t(1.01e-8, 0.0), generator=mf.generator(0)))
#    ```
#    </details>

# %%
mf.nb.versions()
