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
# **What we do.** A 5-layer network trained by the paper recipe on the first $M$ images, several
# independent runs per size; the layer-averaged entropy with error bars over runs. Two confounds are
# controlled:
#
# - *More data at a fixed number of epochs is also more gradient steps.* Beside the fixed-epochs arm
#   we train an **equal-updates** arm: every size gets as many steps as the smallest size $M_0$ at
#   `epochs` epochs (epochs scaled by $M_0/M$), and the learning rate halves after the same number of steps
#   (its period in epochs scaled by $M_0/M$ too). One difference stays: Adam's state is reset at
#   every epoch, so at larger $M$ it is reset after more steps. Both arms train at the same sizes,
#   so at every $M$ the two can be compared directly.
# - *Pixels that are blank in all $M$ images* give their first-layer connections no gradient: those
#   connections keep $\pi = 0$ and their initial $\Xi$, and pull the first layer's entropy down by
#   an amount that depends on $M$ (more images, fewer blank pixels). We report every layer over all
#   connections and over the connections from *live* inputs.
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
# closed form gives $S = 0$. Layer means therefore depend on how many $\Xi$ the optimiser puts exactly
# on 0; below we measure by how much. There is a second problem: where spike and slab overlap, the
# first term treats the spike as a point mass (a probability added to a density) while the second
# sees it as a box, so the estimate is not the entropy of any one distribution, and its value
# depends on the unit of $w$.
#
# ## A well-defined convention: the quantised weight
#
# Round the weight to the nearest multiple of a bin width $\mathrm{d}w$. The rounded weight is a
# discrete variable with a Shannon entropy $H_{\mathrm{d}w} = -\sum_k p_k\ln p_k$ for any mixture of
# spike and slab: the spike's mass $\pi$ lies in the bin $k = 0$, the slab's mass in bin $k$ is
# $(1-\pi)\,[\Phi(\tfrac{(k+1/2)\mathrm{d}w - m}{\sqrt\Xi}) - \Phi(\tfrac{(k-1/2)\mathrm{d}w - m}{\sqrt\Xi})]$ ($\Phi$ the
# normal CDF). No Monte Carlo, no regularised spike, no jump: a VIP has $H = 0$, a UIP $H = 0$, a
# connection present half the time with a fixed value $H = \ln 2$, and a wide slab
# $H \approx \tfrac12\ln(2\pi e\Xi) - \ln\mathrm{d}w$, so the bin width shifts every wide slab by the
# same amount but moves the narrow ones less. We compute it at the bin widths `dws` and ask, in
# notebook 9, whether the *directions* the paper's estimator gives (which layer has the most entropy,
# which the least, and the sign of the change with $M$) hold under every convention.

# %% tags=["parameters"]
quick: bool = False
sizes: list = [10_000, 20_000, 40_000]        # training-set sizes M (first M images), fixed epochs
equal_sizes: list = [10_000, 20_000, 40_000]  # sizes of the equal-updates arm (steps of the first)
n_runs: int = 3         # independent runs (seeds) per size
epochs: int = 200
batch_size: int = 500
n_mc: int = 100         # Monte Carlo draws per connection
dws: list = [1e-3, 1e-2, 1e-1]  # bin widths of the quantised entropy

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

# %% tags=["nbval-check-output"]
print("limits reproduced (|difference| < 0.01):", bool(torch.allclose(S, torch.tensor(expected, **d), atol=0.01)))

# %% [markdown]
# ## Training the 5-layer nets
#
# The paper recipe with the first $M$ training images; the test set is evaluated only at the end.
# The first size of the equal-updates arm is the same run as in the fixed-epochs arm.

# %%
base = mf.TrainConfig(widths=widths, epochs=epochs, batch_size=batch_size, eval_every=epochs)


def equal_updates(M):
    """The recipe at size M with the steps, and the steps between halvings, of equal_sizes[0] at `epochs` epochs."""
    e, h = epochs * equal_sizes[0] / M, base.lr_halve_every * equal_sizes[0] / M
    if e != int(e) or h != int(h):
        raise ValueError(f"equal_sizes: {M} gives {e} epochs and lr_halve_every {h}; pick sizes for which both are integers")
    return base.replace(n_train=M, epochs=int(e), lr_halve_every=int(h), eval_every=int(e))


arms = {"fixed epochs": [base.replace(n_train=M) for M in sizes], "equal updates": [equal_updates(M) for M in equal_sizes]}
jobs = [(arm, cfg, r) for arm, cfgs in arms.items() for cfg in cfgs for r in range(n_runs)]
trained = mf.sweep([(cfg, r) for _, cfg, r in jobs])  # a job listed in both arms trains once
data = mf.load_dataset("mnist", n_train=max(sizes + equal_sizes))
dead = {M: mf.dead_inputs(data.x_train[:M]) for M in sorted(set(sizes + equal_sizes))}
pd.DataFrame([{"arm": arm, "M": c.n_train, "epochs": c.epochs, "lr halved every (epochs)": c.lr_halve_every,
               "gradient steps": -(-c.n_train // c.batch_size) * c.epochs, "blank pixels": int(dead[c.n_train].sum())}
              for arm, cfgs in arms.items() for c in cfgs])

# %% [markdown]
# Per run, per layer and per view (all connections, or live inputs only): the layer mean of the
# entropy (`S`), the fraction of connections with $\Xi \le 10^{-8}$, and the layer mean with those
# connections (the ones with $\pi < 1$) evaluated on the Gaussian side of the jump (`S, Gaussian limit`).

# %%
rows = []
for (arm, cfg, r), run in zip(jobs, trained):
    views = {"all": None, "live inputs": mf.live_connections(run.params, dead[cfg.n_train])}
    rows += [{"arm": arm, "M": cfg.n_train, "seed": r, "test error (%)": run.final("sampled"), **e}
             for e in mf.entropy_by_layer(run.params, views, n_mc=n_mc, generator=mf.generator(1000 + r), dws=dws)]
ent = pd.DataFrame(rows).rename(columns={"S_gaussian_limit": "S, Gaussian limit", "xi_zero": "xi <= 1e-8"})
H_cols = [f"H(dw={dw:g})" for dw in dws]
CONVENTIONS = {"S": "paper's estimator", "S, Gaussian limit": "paper's, Gaussian side of the jump",
               **{c: f"quantised, dw = {dw:g}" for c, dw in zip(H_cols, dws)}}
agg = ent.groupby(["arm", "view", "M", "layer"])[[*CONVENTIONS, "xi <= 1e-8"]].agg(["mean", "std"])
agg["S"].unstack("layer").round(3)

# %%
fx = agg.loc[("fixed epochs", "all"), "S"]
n_layers = len(widths) - 1
all_sizes = sorted(set(sizes) | set(equal_sizes))


def size_colour(M):
    """Training-set sizes in shades of grey (dark: large), so that colours always mean layers."""
    return plt.get_cmap("Greys")(0.45 + 0.5 * all_sizes.index(M) / max(len(all_sizes) - 1, 1))


LAYER_COLOURS = ["C0", "C1", "C2", "C4", "C5"]  # one colour per layer, distinct for colour-blind readers


# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for i, M in enumerate(sizes):
    axes[0].errorbar(np.arange(1, n_layers + 1) + 0.05 * (i - (len(sizes) - 1) / 2), fx.loc[M, "mean"], yerr=fx.loc[M, "std"].fillna(0),
                     marker="s", ls="--", capsize=3, color=size_colour(M), label=f"M = {M:,}")
axes[0].set(xlabel="weight layer", ylabel="mean connection entropy S", xticks=range(1, n_layers + 1))
axes[0].axhline(0, color="k", lw=0.6)
axes[0].legend(fontsize=8)
for l in range(1, n_layers + 1):
    g = fx.xs(l, level="layer")
    axes[1].errorbar(sizes, g["mean"], yerr=g["std"].fillna(0), marker="o", capsize=3, color=LAYER_COLOURS[l - 1], label=f"layer {l}")
axes[1].set(xlabel="training-set size M (images)", ylabel="mean connection entropy S")
axes[1].set_xticks(sizes, [f"{M:,}" for M in sizes])
axes[1].legend(fontsize=8)
fig.suptitle(f"Connection entropy, 5-layer net {'-'.join(map(str, widths))}, {epochs} epochs, all connections, "
             f"{n_runs} runs per size, error bars: sd (cf. paper Fig. 4, reconstructed)")
fig.tight_layout()
mf.nb.save_figure(fig, "05_entropy_paper-fig4")

# %% [markdown]
# ### Both arms side by side
#
# Left: every size trained for `epochs` epochs (more data, more steps). Right: every size trained for
# the same number of steps. Layer 1 is drawn over all connections (solid) and over the connections
# from live inputs (dashed); the other layers are the same in both views.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), sharey=True)
for ax, (arm, cfgs) in zip(axes, arms.items()):
    for view in ("all", "live inputs"):
        for l in range(1, n_layers + 1) if view == "all" else [1]:
            g = agg.loc[(arm, view), "S"].xs(l, level="layer")
            ax.errorbar(g.index, g["mean"], yerr=g["std"].fillna(0), marker="o", capsize=3, color=LAYER_COLOURS[l - 1],
                        ls="-" if view == "all" else "--", label=f"layer {l}" + (f", {view}" if l == 1 else ""))
    steps = sorted({-(-c.n_train // c.batch_size) * c.epochs for c in cfgs})
    ax.set_xticks([c.n_train for c in cfgs], [f"{c.n_train:,}" for c in cfgs])
    ax.set(xlabel="training-set size M (images)",
           title=f"{arm}: " + (f"{epochs} epochs, {steps[0]:,}-{steps[-1]:,} steps" if len(steps) > 1
                               else f"{steps[0]:,} steps, epochs {cfgs[0].epochs}-{cfgs[-1].epochs}"))
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.24))
axes[0].set_ylabel("mean connection entropy S")
fig.suptitle(f"Entropy vs training-set size: fixed epochs vs equal updates ({n_runs} runs per size, error bars: sd)")
fig.tight_layout()
mf.nb.save_figure(fig, "05b_entropy_equal_updates")

# %% [markdown]
# ### How much the jump at $\Xi \to 0$ moves the layer means
#
# For the smallest size of the fixed-epochs arm, per layer (all connections): the fraction of
# connections with $\Xi \le 10^{-8}$, the layer mean as estimated, and the layer mean with those
# connections evaluated just above $10^{-8}$ instead, by the Monte Carlo estimate that tends to
# the Gaussian entropy there. Mean over runs.

# %%
jump = agg.loc[("fixed epochs", "all", sizes[0])].xs("mean", axis=1, level=1)[["xi <= 1e-8", "S", "S, Gaussian limit"]]
jump["shift"] = jump["S, Gaussian limit"] - jump["S"]
jump.round(4)

# %% [markdown]
# ### The layer means under every convention
#
# The controlled arm (equal updates, connections from live inputs), each convention in its own
# panel: the layer means at every size $M$ (shades of grey: darker is larger), mean ± sd over runs.
# Below the figure, the directions each convention gives: the layer with the highest and the lowest
# mean at the smallest $M$, and the sign of each layer's change from the smallest to the largest $M$
# ('0' where the change is within twice the larger sd over runs: it cannot be told from noise).

# %%
eq = agg.loc[("equal updates", "live inputs")]
fig, axes = plt.subplots(1, len(CONVENTIONS), figsize=(3.3 * len(CONVENTIONS), 3.8))
for ax, (col, label) in zip(axes, CONVENTIONS.items()):
    for i, M in enumerate(equal_sizes):
        g = eq.loc[M, col]
        ax.errorbar(np.arange(1, n_layers + 1) + 0.06 * (i - 1), g["mean"], yerr=g["std"].fillna(0), marker="s", ls="--",
                    capsize=2, color=size_colour(M), label=f"M = {M:,}")
    ax.set(xticks=range(1, n_layers + 1), xlabel="weight layer", title=label)
axes[0].set_ylabel("layer mean of the entropy (nats)")
axes[0].legend(fontsize=8)
fig.suptitle(f"Entropy per layer under five conventions: equal updates, live inputs, {n_runs} runs per size (error bars: sd)")
fig.tight_layout()
mf.nb.save_figure(fig, "05c_entropy_conventions")


def directions(col):
    first, last = eq.loc[equal_sizes[0], col], eq.loc[equal_sizes[-1], col]
    return mf.entropy.directions(first["mean"].tolist(), last["mean"].tolist(), first["std"].tolist(), last["std"].tolist())


pd.DataFrame({label: directions(col) for col, label in CONVENTIONS.items()}).T

# %% tags=["hide-input"] jupyter={"source_hidden": true}
def per_size(arm, view, col, stat="mean"):
    t = agg.loc[(arm, view), (col, stat)].unstack("layer")
    return {str(M): [float(v) for v in t.loc[M]] for M in t.index}


saved = mf.nb.save_results("entropy", {
    "widths": list(widths), "sizes": sizes, "n_runs": n_runs, "epochs": epochs,
    "per_run": ent.to_dict(orient="records"),
    "dead_inputs": {str(M): int(d.sum()) for M, d in dead.items()},
    "mean": per_size("fixed epochs", "all", "S"), "sd": per_size("fixed epochs", "all", "S", "std"),
    "mean_live": per_size("fixed epochs", "live inputs", "S"), "sd_live": per_size("fixed epochs", "live inputs", "S", "std"),
    "equal_updates": {"sizes": equal_sizes, "epochs": {str(c.n_train): c.epochs for c in arms["equal updates"]},
                      "lr_halve_every": {str(c.n_train): c.lr_halve_every for c in arms["equal updates"]},
                      **{k: per_size("equal updates", v, "S", st) for k, v, st in
                         (("mean", "all", "mean"), ("sd", "all", "std"), ("mean_live", "live inputs", "mean"),
                          ("sd_live", "live inputs", "std"))}},
    "conventions": {col: {"label": label, **{f"{arm}|{view}": {"mean": per_size(arm, view, col), "sd": per_size(arm, view, col, "std")}
                                             for arm in arms for view in ("all", "live inputs")}}
                    for col, label in CONVENTIONS.items()},
    "xi_zero": {f"{arm}|{view}": {k: per_size(arm, view, col) for k, col in
                                   (("fraction", "xi <= 1e-8"), ("closed_form", "S"), ("gaussian_limit", "S, Gaussian limit"))}
                for arm in arms for view in ("all", "live inputs")},
})
print("wrote", saved.relative_to(mf.nb.ROOT))

# %% tags=["hide-input"] jupyter={"source_hidden": true}
def summary(arm, view):
    t = agg.loc[(arm, view), ("S", "mean")].unstack("layer")
    noise = agg.loc[(arm, view), ("S", "std")].max()
    return t, noise, (t.iloc[-1] - t.iloc[0]).abs().max()


(f_all, n_all, c_all), (e_live, n_live, c_live) = summary("fixed epochs", "all"), summary("equal updates", "live inputs")
m0 = e_live.iloc[0]
dirs = {label: directions(col) for col, label in CONVENTIONS.items()}
agree = [label for label, d in dirs.items() if d == dirs["paper's estimator"]]
agree_by = {k: sum(d[k] == dirs["paper's estimator"][k] for label, d in dirs.items() if label != "paper's estimator")
            for k in ("highest", "lowest", "change")}


# %% tags=["hide-input"] jupyter={"source_hidden": true}
def arm_change(arm, view):
    """Per-layer sign of the change from the smallest to the largest size, by the rule of directions()."""
    t, sd = (agg.loc[(arm, view), ("S", st)].unstack("layer") for st in ("mean", "std"))
    return mf.entropy.directions(*(t.iloc[i].tolist() for i in (0, -1)), *(sd.iloc[i].tolist() for i in (0, -1)))["change"]


def noise_words(arm, view):
    signs = arm_change(arm, view)
    return (f"per layer {signs}: no layer moves by more than twice its run-to-run sd, with {n_runs} runs per size"
            if set(signs.split()) == {"0"} else f"per layer {signs}, '+' or '-' where a layer moves by more than twice its run-to-run sd")


signs = dirs["paper's estimator"]["change"].split()
falls, rises = ([str(i + 1) for i, x in enumerate(signs) if x == c] for c in "-+")
answer_text = ("under the paper's estimator and equal updates, no layer's entropy changes beyond twice its run-to-run sd."
               if not falls and not rises else
               "under the paper's estimator and equal updates, " + "; ".join(
                   t for t in (f"layer(s) {', '.join(falls)} lose entropy beyond twice their run-to-run sd (there more data "
                               "does make the connections more certain)" if falls else "",
                               f"layer(s) {', '.join(rises)} gain entropy" if rises else "") if t)
               + " and the other layers do not move measurably; whether the other conventions agree is the next point.")


# %% [markdown]
# ## What we learned

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.show_markdown(f"""
- At $M$ = {equal_sizes[0]:,} (live inputs) the layer means are {', '.join(f'{v:.3f}' for v in m0)} (layers 1 to
  {len(m0)}): the entropy changes with depth by up to {m0.max() - m0.min():.3f}, against a largest sd over runs of {n_live:.3f}.
- With the same number of steps for every size (live inputs), from $M$ = {equal_sizes[0]:,} to {equal_sizes[-1]:,} the layer
  means move by at most {c_live:.3f} ({noise_words('equal updates', 'live inputs')}).
  At a fixed {epochs} epochs over all connections, as in the paper's setting, they move by at most {c_all:.3f} from
  {sizes[0]:,} to {sizes[-1]:,} ({noise_words('fixed epochs', 'all')}). So, to the opening question:
  {answer_text}
- Blank pixels: {', '.join(f'{int(d.sum())} at M = {M:,}' for M, d in dead.items())}. Their connections change
  the first layer's mean at $M$ = {sizes[0]:,} from {agg.loc[('fixed epochs', 'live inputs', sizes[0], 1), ('S', 'mean')]:.3f}
  (live inputs) to {agg.loc[('fixed epochs', 'all', sizes[0], 1), ('S', 'mean')]:.3f} (all).
- The estimator's jump at $\\Xi = 10^{{-8}}$: {100 * jump['xi <= 1e-8'].min():.1f}–{100 * jump['xi <= 1e-8'].max():.1f} %
  of the connections per layer have $\\Xi \\le 10^{{-8}}$ (M = {sizes[0]:,}); evaluated on the Gaussian side instead,
  the layer means would move by {jump['shift'].min():+.3f} to {jump['shift'].max():+.3f}, which is
  {'more' if jump['shift'].abs().max() > c_all else 'less'} than the largest change with $M$ at fixed epochs.
- The directions under the paper's estimator: highest layer {dirs["paper's estimator"]['highest']}, lowest layer
  {dirs["paper's estimator"]['lowest']}, changes with $M$ per layer {dirs["paper's estimator"]['change']}. Of the other
  {len(dirs) - 1} conventions, {'; '.join(f'{n} agree on the {k}' for k, n in agree_by.items())}; all of them at once
  agree in {len(agree) - 1}{': ' + ', '.join(a for a in agree if a != "paper's estimator") if len(agree) > 1 else ''}.
  Notebook 9 turns this into the verdict on claim 8.
- Negative values of $S$ are not an error: the slab's Gaussian entropy is negative for variances below 0.059. The
  quantised entropy is never negative.
""")

# %% [markdown]
# ## Try it
#
# 1. **Which kinds of connection carry the entropy?** Split the first layer of one run by category and
#    average the paper's entropy and the quantised one ($\mathrm{d}w = 0.01$) over each kind. *Expect:*
#    VIPs and UIPs at 0 under both; the variable connections carry all of it.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("05-entropy", 1, globals())

# %% [markdown]
# 2. **The jump, seen up close.** Evaluate the paper's estimator at $(\pi, m) = (0, 0.5)$ for $\Xi$ just
#    above the threshold ($2\cdot10^{-8}$), exactly at it ($10^{-8}$, the closed-form side) and at 0, and the
#    quantised entropy at the same points. *Expect:* a jump of several nats in the first, none in the second.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("05-entropy", 2, globals())

# %%
mf.nb.versions()
