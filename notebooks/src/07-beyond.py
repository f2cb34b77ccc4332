# %% [markdown]
# # 7. Beyond the paper
#
# **The question.** The paper shows that the ensemble learns *which* connections deserve the credit.
# Four questions it does not ask: (1) is that credit a better guide for **pruning** than the size of
# a weight? (2) Are the ensemble's predicted probabilities better **calibrated** than a standard
# network's, once the standard network gets the standard fix, temperature scaling? (3) Does the
# ensemble **know what it does not know**, i.e. is it less sure on images of another kind? (4) Do
# the paper's claims hold on a **second data set**, Fashion-MNIST?
#
# **Why it matters.** A distribution over networks is more expensive than one network. It pays off
# if what it learns beyond one set of weights (a credit per connection, a spread of predictions) is
# useful: fewer connections for the same accuracy, honest probabilities, a warning on unfamiliar
# inputs, and a behaviour that is not an accident of MNIST.
#
# **What we do.** We reuse the paper-recipe runs of notebook 2 (gBP and the recipe-matched standard
# BP, same seeds) and train the same recipe on the first 10,000 Fashion-MNIST training images. Every
# choice that needs data beyond the training images (a temperature, an early-stopping epoch) is made
# on the **selection images** or the **stopping images** of notebook 6 (the last 10,000 images of
# each training file), never on the test set.
#
# 1. **Pruning**, without retraining: remove connections in the order of a score and measure the
#    test error. *Declared before any number:* the primary score is the paper's credit,
#    $1-\pi$; the primary comparison is $1-\pi$ against the magnitude of the **same** ensemble's
#    mean weight, $|(1-\pi)m|$: it separates "credit" from "size of the ensemble's mean", which the
#    magnitude of another network's weights cannot do. The measure is the fraction of the whole
#    network's connections removed at +1 point of test error ($\epsilon = 0$ network), compared seed
#    by seed (paired t-test, two-sided). The other scores (an rms credit, a standard network's
#    $|w|$, random removal) are secondary.
# 2. **Calibration** on the MNIST test set: negative log-likelihood (NLL), expected calibration
#    error (ECE, 15 equal-width confidence bins), Brier score, reliability diagrams; for the standard
#    network and the $\epsilon = 0$ mean field, raw and **temperature-scaled** (Guo et al., ICML
#    2017: one temperature per network, fitted by the NLL on the selection images), the noisy mean
#    field, and the average of $K$ sampled sub-networks.
# 3. **Out of distribution**: the MNIST-trained networks see the Fashion-MNIST test images; how well
#    does the predictive entropy tell them from MNIST test images (AUROC)?
# 4. **Fashion-MNIST**: the numbers behind claims 1 and 3 to 7 (notebook 9), measured as on MNIST.
#
# Symbols: [glossary](../docs/glossary.md).

# %% tags=["parameters"]
quick: bool = False
n_seeds: int = 5
epochs: int = 200
n_train: int = 10_000
batch_size: int = 500
n_networks: int = 100      # the largest number K of sub-networks averaged; sub-networks per seed (Fashion-MNIST)
n_perturb: int = 10        # sampled sub-networks per point of the target weight perturbation (as notebook 4)
n_prune_samples: int = 2   # sampled sub-networks per pruning point
n_test: int = 10_000       # test images of each data set used (the first n_test)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

mf.nb.setup(globals())
seeds = list(range(n_seeds))
gbp_cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)  # notebook 2's runs
bp_cfg = gbp_cfg.bp_baseline()
fgbp_cfg = gbp_cfg.replace(dataset="fashion-mnist", eval_every=epochs)  # new: evaluated at the end only
fbp_cfg = fgbp_cfg.bp_baseline()
runs = mf.sweep([(c, s) for c in (gbp_cfg, bp_cfg, fgbp_cfg, fbp_cfg) for s in seeds])  # cached, parallel
gbp_runs, bp_runs, fgbp_runs, fbp_runs = (runs[i * n_seeds:(i + 1) * n_seeds] for i in range(4))
mnist = mf.load_dataset("mnist", n_train=n_train, n_test=n_test)
fashion = mf.load_dataset("fashion-mnist", n_train=n_train, n_test=n_test)
x_test, y_test, fx_test, fy_test = mnist.x_test, mnist.y_test, fashion.x_test, fashion.y_test


# %%
def selection_images(name):
    """The selection images of notebook 6: the N_VAL training images before the last N_VAL (early stopping's)."""
    x, y = mf.data.validation_split(name, n=2 * mf.config.N_VAL, n_train=n_train)
    return x[:mf.config.N_VAL].clone(), y[:mf.config.N_VAL].clone()  # copies: the stopping images are freed


x_sel, y_sel = selection_images("mnist")

# %% [markdown]
# ## 1. Credit versus magnitude: pruning without retraining
#
# Each connection gets a score; connections are removed lowest score first (ties in random order),
# and the network is evaluated as it is, without retraining. Three scores come from the ensemble's
# $(\pi, m, \Xi)$:
#
# - **credit $1-\pi$** (primary): the probability that the ensemble keeps the connection, the
#   credit the paper reads off; it ignores how large the weight is when present.
# - **$|(1-\pi)m|$**, the magnitude of the ensemble's mean weight, i.e. of the $\epsilon = 0$
#   network's weight: magnitude pruning of the ensemble's own mean network (the primary control).
# - **credit rms** $= \sqrt{(1-\pi)(m^2+\Xi)}$: the root mean square of $w$ under
#   $P(w) = \pi\,\delta(w) + (1-\pi)\,\mathcal N(m, \Xi)$, how often a connection is there combined
#   with how large it is then.
#
# Removing a connection of the ensemble sets its $\pi = 1$: the $\epsilon = 0$ network then has
# weight $(1-\pi)m = 0$ there, and no sampled sub-network has it. **Magnitude pruning** of the
# standard network removes its smallest $|w|$; **random** removal (for both) is the control.
# Connections from **blank pixels** (0 in every training image) are removed first by every score:
# they never get a gradient, so their $\pi$ stays at its initial 0 and the credit would keep them to
# the last, although their input is 0 on every training image. Without this rule a comparison of
# scores would partly measure "$\pi$ never moved" rather than credit.
# "Layer $l$" prunes only that weight layer; "whole network" prunes the same fraction of every layer
# (each ranked within its layer, so no layer is emptied first because its weights are on another scale).

# %%
fractions = [0.0, 0.2, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99]  # finer where errors start to rise
PRIMARY, CONTROL = "gBP, credit 1 - pi", "gBP, |mean| |(1 - pi) m|"
methods = {  # name: (runs, score)
    PRIMARY: (gbp_runs, "presence"), CONTROL: (gbp_runs, "mean"), "gBP, credit rms": (gbp_runs, "rms"),
    "gBP, random": (gbp_runs, "random"), "BP, magnitude |w|": (bp_runs, "magnitude"), "BP, random": (bp_runs, "random"),
}
scopes = {"layer 1": [0], "layer 2": [1], "layer 3": [2], "whole network": [0, 1, 2]}
# %%
dead = mf.dead_inputs(mnist.x_train)  # (784,): pixels blank in every training image
ties = [100 * float((pi[:, ~dead] == 0).double().mean() if l == 0 else (pi == 0).double().mean())
        for l, pi in enumerate(gbp_runs[0].params["pi"])]
print(f"{int(dead.sum())} blank pixels: their {int(dead.sum()) * gbp_runs[0].params['pi'][0].shape[0]:,} first-layer "
      "connections are removed first by every score. Connections tied at the highest credit (pi = 0), seed 0, "
      "per layer, live inputs: " + ", ".join(f"{t:.1f} %" for t in ties))
rows = []
for name, (method_runs, kind) in methods.items():
    for run in method_runs:
        g = mf.generator(700 + run.seed)
        scores = mf.pruning.blank_first(mf.pruning.keep_scores(run.params, kind, g), dead)  # blank pixels go first
        for scope, layers in scopes.items():
            n = n_prune_samples if scope == "whole network" and name.startswith("gBP") else 0  # sampled: whole network
            c = mf.pruning.pruning_curve(run.params, scores, fractions, x_test, y_test, layers, n, g)
            rows += [{"method": name, "scope": scope, "seed": run.seed, "fraction": f, "eps=0": e,
                      "sampled": c["sampled"][i] if n else np.nan} for i, (f, e) in enumerate(zip(fractions, c["mean"]))]
prune = pd.DataFrame(rows)
(prune[prune.fraction.isin([0.0, 0.5, 0.7, 0.9]) & (prune.scope == "whole network")].groupby(["method", "fraction"], sort=False)
 ["eps=0"].mean().unstack("fraction").round(2).rename(columns=lambda f: f"{f:.0%} removed"))

# %% [markdown]
# The table: mean test error (%) over seeds of the $\epsilon = 0$ network (for BP: the network), the
# whole network pruned, at four fractions removed; the figure shows every fraction and every scope on
# a log scale, and the band where the +1-point rule is decided on a linear scale (right).

# %%
styles = {PRIMARY: ("C0", "o"), CONTROL: ("C1", "D"), "gBP, credit rms": ("C2", "s"), "gBP, random": ("C0", "x"),
          "BP, magnitude |w|": ("C3", "^"), "BP, random": ("C3", "+")}


def curve(ax, d, column, name, ls=None, alpha=1.0, label=True):
    s = d.groupby("fraction")[column].agg(["mean", "std"])
    colour, marker = styles[name]
    ls = ls or (":" if name.endswith("random") else "-")
    ax.plot(s.index, s["mean"], color=colour, marker=marker, ms=4, ls=ls, alpha=alpha, label=name if label else None)
    ax.fill_between(s.index, s["mean"] - s["std"].fillna(0), s["mean"] + s["std"].fillna(0), color=colour, alpha=0.15, lw=0)


def frame(ax, title, log=True):
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_yscale("log" if log else "linear")
    ax.set_xlabel("fraction of connections removed")
    ax.set_title(title)

# %%
fig, axes = plt.subplots(1, 5, figsize=(19, 4.2))
for i, (ax, scope) in enumerate(zip(axes, scopes)):
    for name in methods:
        curve(ax, prune[(prune.scope == scope) & (prune.method == name)], "eps=0", name)
    frame(ax, f"{scope} pruned")
    if i:
        ax.sharey(axes[0])
unpruned = prune[(prune.fraction == 0) & (prune.scope == "whole network")]
base = {fam: unpruned[unpruned.method.str.startswith(fam)]["eps=0"].mean() for fam in ("gBP", "BP")}
for name in methods:
    curve(axes[4], prune[(prune.scope == "whole network") & (prune.method == name)], "eps=0", name)
frame(axes[4], "whole network, linear: the +1-point band", log=False)
axes[4].set(ylim=(min(base.values()) - 0.5, max(base.values()) + 2.5), xlim=(0.3, 1.0))
for fam, colour in (("gBP", "C0"), ("BP", "C3")):  # each family's own threshold (the rule is per seed and method)
    axes[4].axhline(base[fam] + 1, color=colour, ls="--", lw=1, label=f"{fam} unpruned + 1 point (mean over seeds)")
axes[0].set_ylabel("MNIST test error (%), log scale")
axes[4].set_ylabel("MNIST test error (%)")
axes[4].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
fig.suptitle(f"Pruning without retraining: the eps = 0 ensemble (gBP) and the standard network (BP); mean ± sd over {n_seeds} seeds")
fig.tight_layout()
mf.nb.save_figure(fig, "07a_pruning_eps0")

# %% [markdown]
# **When does pruning start to cost?** For each seed, the fraction removed at which the test error
# first exceeds its unpruned value by 1 percentage point, interpolated linearly between the grid
# points around the crossing. "not reached" counts the seeds whose error stays within 1 point up to
# the largest fraction of the grid; the mean and sd are over the other seeds.

# %%
def at_one_point(d, column):
    return mf.pruning.sparsity_at_loss(d["fraction"], d[column], points=1.0)


per_seed = {("eps=0", s, m): [at_one_point(d, "eps=0") for _, d in prune[(prune.scope == s) & (prune.method == m)].groupby("seed")]
            for s in scopes for m in methods}
per_seed.update({("sampled", "whole network", m): [at_one_point(d, "sampled") for _, d in
                 prune[(prune.scope == "whole network") & (prune.method == m)].groupby("seed")]
                 for m in methods if m.startswith("gBP")})


def summarise(v):
    v = np.asarray(v, float)
    ok = v[np.isfinite(v)]
    return {"mean": ok.mean() if len(ok) else np.nan, "sd": ok.std(ddof=1) if len(ok) > 1 else np.nan,
            "not reached": int((~np.isfinite(v)).sum()), "per_seed": v.tolist()}


onept = pd.DataFrame([{"network": k[0], "scope": k[1], "method": k[2], **summarise(v)} for k, v in per_seed.items()])
wn = "whole network"
primary = mf.stats.paired(per_seed[("eps=0", wn, PRIMARY)], per_seed[("eps=0", wn, CONTROL)], "two-sided")
(onept[onept.scope == wn].drop(columns=["per_seed", "scope"]).set_index(["network", "method"]).round(3)
 .rename(index={"eps=0": "eps = 0 / BP network", "sampled": "sampled sub-networks"}))  # per layer: results/pruning.json

# %%
sampled = prune[(prune.scope == wn) & prune.method.str.startswith("gBP")]
fig, axes = plt.subplots(1, 2, figsize=(14, 4.6), gridspec_kw={"width_ratios": [1, 1.3]})
for name in [m for m in methods if m.startswith("gBP")]:
    curve(axes[0], sampled[sampled.method == name], "sampled", name)
    curve(axes[0], sampled[sampled.method == name], "eps=0", name, ls="--", alpha=0.4, label=False)
frame(axes[0], f"whole network: sampled sub-networks (solid, {n_prune_samples} per point)\nvs the eps = 0 network (dashed)")
axes[0].set_ylabel("MNIST test error (%), log scale")
axes[0].legend(fontsize=8)
ax = axes[1]
labels = [s + (", sampled sub-networks" if n == "sampled" else "") for n, s in zip(onept.network, onept.scope)]
order = list(dict.fromkeys(labels))
for j, name in enumerate(methods):
    d = onept[onept.method == name]
    y = [order.index(s + (", sampled sub-networks" if n == "sampled" else "")) + 0.11 * (j - 2.5) for n, s in zip(d.network, d.scope)]
    ax.errorbar(d["mean"], y, xerr=d["sd"].fillna(0), fmt=styles[name][1], color=styles[name][0], capsize=3, label=name)
ax.set_yticks(range(len(order)), order)
ax.invert_yaxis()
ax.set_xlabel("fraction removed at +1 point of test error (mean ± sd over seeds)")
ax.set_title(f"Where pruning starts to cost (eps = 0 or BP network unless marked;\nmissing: not reached by {fractions[-1]})")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()
mf.nb.save_figure(fig, "07b_pruning_sampled_and_one_point")

# %% tags=["hide-input"] jupyter={"source_hidden": true}
def table(column, scope):
    d = prune[prune.scope == scope].groupby(["method", "fraction"])[column].agg(["mean", "std"])
    return {m: {"mean": d.loc[m]["mean"].tolist(), "sd": d.loc[m]["std"].fillna(0).tolist()}
            for m in d.index.get_level_values(0).unique() if d.loc[m]["mean"].notna().all()}


pruning_results = {
    "fractions": fractions, "primary": {"score": PRIMARY, "control": CONTROL, "paired": primary},
    "scores": {PRIMARY: "1 - pi", CONTROL: "|(1 - pi) m|", "gBP, credit rms": "sqrt((1 - pi)(m^2 + xi))",
               "BP, magnitude |w|": "|w|", "random": "uniform random"},
    "eps0": {s: table("eps=0", s) for s in scopes}, "sampled_whole_network": table("sampled", wn),
    "n_samples": n_prune_samples, "one_point": {f"{n} | {s} | {m}": {k: r[k] for k in ("mean", "sd", "not reached", "per_seed")}
                                                for n, s, m, r in zip(onept.network, onept.scope, onept.method, onept.to_dict("records"))},
}
print("wrote", mf.nb.save_results("pruning", pruning_results).relative_to(mf.nb.ROOT))

# %% [markdown]
# ## 2. Calibration
#
# A predictor turns the trained networks into class probabilities for each test image:
#
# - **standard BP**: the softmax of the standard network's logits; **temperature-scaled**, the
#   softmax of its logits divided by one temperature $T$, the one that minimises the NLL on the
#   selection images (a bounded search over $\log T$; `mf.calibration.fit_temperature`);
# - **eps = 0 mean field**: the softmax of the mean-field logits with $\epsilon = 0$; and
#   temperature-scaled the same way;
# - **noisy mean field**: the softmax of one noisy mean-field pass (fresh $\epsilon$ per unit and image);
# - **K sub-networks**: the average of the softmax of $K$ sub-networks sampled from the ensemble
#   (a Monte Carlo estimate of the ensemble's predictive distribution); the first 10 of the 100 are
#   the $K = 10$ average, and so on;
# - **deep ensemble**: the average of the softmax of the standard networks of all seeds, the
#   practitioner's ensemble baseline. It costs one training run per member, where the $K$
#   sub-networks come from one run, and it is one predictor, so it has no spread over seeds.
#
# The table gives means over seeds; the best predictor of a score is the one with the lowest mean
# (highest for the AUROC), and differences smaller than the sd over seeds (in `results/calibration.json`
# and the figure below) are ties.
#
# With $p$ the predicted probabilities and $y$ the label, over the first `n_test` MNIST test images:
# **NLL** $= -\langle \log p_y\rangle$ (nats); **Brier** $= \langle\sum_c (p_c - [y=c])^2\rangle$;
# **ECE** $= \sum_b \frac{n_b}{n}\,|\mathrm{accuracy}_b - \mathrm{confidence}_b|$ over 15 equal-width
# bins of the confidence $\max_c p_c$. Lower is better for all three. The Fashion-MNIST test images
# go through the same passes (section 3).

# %%
ks = sorted({1, 10, n_networks})
k_grid = sorted({k for k in (1, 2, 5, 10, 20, 50) if k <= n_networks} | set(ks))
x_both = torch.cat([x_test, fx_test])  # MNIST test images, then Fashion-MNIST ones
n_in = len(x_test)
TS = "temperature-scaled"


# %%
@torch.no_grad()
def predictors(run, bp_run):
    net, g, logits = run.network(), mf.generator(800 + run.seed), mf.calibration.batched_logits
    nets = {"standard BP": bp_run.network(), "eps = 0 mean field": lambda x: net(x, noise=False)}
    out, temps = {}, {}
    for name, f in nets.items():
        z = logits(f, x_both)
        temps[name] = mf.calibration.fit_temperature(logits(f, x_sel), y_sel)  # on the selection images
        out[name], out[f"{name}, {TS}"] = torch.softmax(z, -1), torch.softmax(z / temps[name], -1)
    out["noisy mean field"] = mf.calibration.batched_probs(lambda x: net(x, generator=g), x_both)
    out.update({f"K = {k} sub-networks": p for k, p in mf.calibration.sampled_probs(run.params, x_both, k_grid, g).items()})
    return out, temps


fitted = [predictors(r, b) for r, b in zip(gbp_runs, bp_runs)]  # per seed: ({predictor: (20000, 10)}, temperatures)
probs, temperatures = [f[0] for f in fitted], pd.DataFrame([f[1] for f in fitted], index=pd.Index(seeds, name="seed"))
main = ["standard BP", f"standard BP, {TS}", "eps = 0 mean field", f"eps = 0 mean field, {TS}",
        "noisy mean field"] + [f"K = {k} sub-networks" for k in ks]
print("fitted temperatures per seed:")
temperatures.round(3)

# %%
rows = []
for seed, pr in zip(seeds, probs):
    for name, p in pr.items():
        ent = mf.calibration.entropy(p)
        rows.append({"predictor": name, "seed": seed, **mf.calibration.scores(p[:n_in], y_test),
                     "auroc": mf.calibration.auroc(ent[:n_in], ent[n_in:])})
DE = f"deep ensemble: the {n_seeds} standard networks averaged"
de = torch.stack([pr["standard BP"] for pr in probs]).mean(0)  # one predictor built from all seeds' BP networks
de_ent = mf.calibration.entropy(de)
rows.append({"predictor": DE, "seed": -1, **mf.calibration.scores(de[:n_in], y_test),
             "auroc": mf.calibration.auroc(de_ent[:n_in], de_ent[n_in:])})
cal = pd.DataFrame(rows)
metrics = ["error", "nll", "ece", "brier", "auroc"]
cal_summary = cal.groupby("predictor", sort=False)[metrics].agg(["mean", "std"])
shown = cal_summary.loc[main + [DE]].xs("mean", axis=1, level=1)
shown.columns = ["test error (%)", "NLL (nats)", "ECE", "Brier", "AUROC (MNIST vs Fashion)"]
shown.round({"test error (%)": 2, "NLL (nats)": 3, "ECE": 4, "Brier": 4, "AUROC (MNIST vs Fashion)": 3})

# %% [markdown]
# Reliability diagrams: the accuracy in each confidence bin against the bin's mean confidence, all
# seeds pooled. A calibrated predictor sits on the diagonal; below it, the predictor is
# over-confident. The confidence of ten classes is at least 0.1, so the axis starts there. The number
# over each bar is the share of test images in that bin, in percent; at paper scale most fall in the
# last bin. Bins
# with fewer than `min_bin` images (pooled over seeds) are not drawn: one or two images give an
# accuracy of 0 or 1 that says nothing (the ECE counts them, with their tiny weight).

# %%
def pooled_bins(name):
    bins = [mf.calibration.reliability_bins(pr[name][:n_in], y_test) for pr in probs]
    count = sum(b["count"] for b in bins)
    acc = sum(torch.nan_to_num(b["accuracy"]) * b["count"] for b in bins) / count.clamp(min=1)
    conf = sum(torch.nan_to_num(b["confidence"]) * b["count"] for b in bins) / count.clamp(min=1)
    return count.numpy(), acc.numpy(), conf.numpy(), bins[0]["edges"].numpy()


# %%
min_bin = 10
fig, axes = plt.subplots(2, 4, figsize=(15, 7.5), sharex=True, sharey=True)
for ax, name in zip(axes.flat, main):
    count, acc, conf, edges = pooled_bins(name)
    has = count >= min_bin
    ax.bar(conf[has], acc[has], width=0.8 * (edges[1] - edges[0]), color="C0", alpha=0.7, label="accuracy in bin")
    for c, a, n in zip(conf[has], acc[has], 100 * count[has] / count.sum()):
        ax.text(c, min(a + 0.03, 1.02), f"{n:.2g}%", ha="center", fontsize=7.5)
    ax.plot([0.1, 1], [0.1, 1], "k--", lw=1, label="perfect calibration")
    ax.set_title(f"{name}\nECE {cal_summary.loc[name, ('ece', 'mean')]:.4f}")
    ax.set(xlim=(0.1, 1.02), ylim=(0, 1.08))
for ax in axes[-1]:
    ax.set_xlabel("confidence max_c p_c (bin mean)")
for ax in axes[:, 0]:
    ax.set_ylabel("accuracy")
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=2)
fig.suptitle(f"Reliability diagrams on the MNIST test set, {n_seeds} seeds pooled (15 equal-width bins; "
             f"bins of fewer than {min_bin} images not drawn; over a bar: its share of the images)")
fig.tight_layout(rect=(0, 0.04, 1, 1))
mf.nb.save_figure(fig, "07c_reliability_diagrams")
mf.nb.check(quick or all(pooled_bins(name)[0][-1] > 0.5 * pooled_bins(name)[0].sum() for name in main),
            "at paper scale, most test images fall in the last confidence bin, for every predictor")


# %% [markdown]
# How the average of $K$ sub-networks improves with $K$, next to the single networks (horizontal
# lines, raw and temperature-scaled). Accuracy is shown as the test error.

# %%
kc = cal[cal.predictor.str.startswith("K = ")].assign(K=lambda d: d.predictor.str.extract(r"K = (\d+)")[0].astype(int))
kc = kc.groupby("K")[metrics].agg(["mean", "std"])
fig, axes = plt.subplots(1, 4, figsize=(16, 4))
lines = (("standard BP", "C3", "--"), (f"standard BP, {TS}", "C3", ":"), ("eps = 0 mean field", "C4", "--"),
         (f"eps = 0 mean field, {TS}", "C4", ":"), ("noisy mean field", "C2", "--"))
for ax, (metric, label) in zip(axes, [("error", "MNIST test error (%)"), ("nll", "NLL (nats)"),
                                      ("ece", "ECE"), ("auroc", "AUROC, MNIST vs Fashion-MNIST")]):
    ax.errorbar(kc.index, kc[(metric, "mean")], yerr=kc[(metric, "std")].fillna(0), marker="o", capsize=3,
                color="C0", label="average of K sub-networks")
    for name, colour, ls in lines:
        ax.axhline(cal_summary.loc[name, (metric, "mean")], color=colour, ls=ls, lw=1.2, label=name)
    ax.set_xscale("log")
    ax.set_xticks(k_grid, [str(k) for k in k_grid])
    ax.set(xlabel="K, sub-networks averaged", ylabel=label)
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=6)
fig.suptitle(f"Averaging sampled sub-networks (mean ± sd over {n_seeds} seeds)")
fig.tight_layout(rect=(0, 0.09, 1, 1))
mf.nb.save_figure(fig, "07d_accuracy_calibration_vs_K")

# %% [markdown]
# ## 3. Knowing what it does not know
#
# The MNIST-trained networks see the first `n_test` Fashion-MNIST test images, which belong to none of
# their classes. A network that knows what it does not know spreads its probability there: its
# predictive entropy $H = -\sum_c p_c \log p_c$ is higher than on MNIST test images. The **AUROC**
# is the probability that a random Fashion-MNIST image gets a higher entropy than a random MNIST
# image (ties count 1/2): 1 separates them perfectly, 0.5 not at all. It is the last column of the
# table above. Temperature scaling divides all logits of a network by the same $T$, which can
# reorder the entropies of two images, so it can move the AUROC too.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.9), sharey=True)
bins = np.linspace(0, np.log(10), 41)
for ax, name in zip(axes, ["standard BP", f"standard BP, {TS}", main[-1]]):
    ent = mf.calibration.entropy(probs[0][name]).numpy()
    ax.hist(ent[:n_in], bins=bins, alpha=0.6, color="C0", label="MNIST test (in distribution)")
    ax.hist(ent[n_in:], bins=bins, alpha=0.6, color="C1", label="Fashion-MNIST test (unseen kind)")
    ax.set_yscale("log")
    ax.set_xlabel("predictive entropy H (nats; log 10 = uniform)")
    ax.set_title(f"{name}, seed 0: AUROC {cal[(cal.predictor == name) & (cal.seed == 0)].auroc.item():.3f}")
axes[0].set_ylabel("images per bin (log scale)")
axes[0].legend(fontsize=8)
fig.suptitle("MNIST-trained networks on MNIST and on Fashion-MNIST images")
fig.tight_layout()
mf.nb.save_figure(fig, "07e_entropy_mnist_vs_fashion")

# %% tags=["hide-input"] jupyter={"source_hidden": true}
def stat(name, metric):
    return {"mean": cal_summary.loc[name, (metric, "mean")], "sd": cal_summary.loc[name, (metric, "std")]}


calibration_results = {
    "predictors": {name: {m: stat(name, m) for m in metrics} for name in cal_summary.index},
    "per_seed": cal.to_dict("records"), "temperatures": temperatures.to_dict(orient="list"),
    "k_grid": k_grid, "main": main, "n_bins": 15,
    "reliability": {name: dict(zip(("count", "accuracy", "confidence"), pooled_bins(name)[:3])) for name in main},
    "auroc_note": "auroc: MNIST test (negative) vs Fashion-MNIST test (positive) by predictive entropy",
}
print("wrote", mf.nb.save_results("calibration", calibration_results).relative_to(mf.nb.ROOT))

# %% [markdown]
# ## 4. A second data set: Fashion-MNIST
#
# The same recipe (784-100-100-10, the first 10,000 training images, 200 epochs, 5 seeds) on
# Fashion-MNIST: 28×28 grey images of ten kinds of clothing, a harder task than digits. Every number
# below is measured as notebooks 3, 4 and 6 measure it on MNIST, so that notebook 9 can put the two
# data sets side by side: the errors (gBP's sampled sub-networks, `n_networks` per seed; the standard
# BP with the recipe's learning rate, at the end of training and early-stopped on the stopping
# images, the stronger of the two chosen on the selection images; its learning rate is not tuned on
# Fashion-MNIST), the categories and where $\pi$ started, and the target weight perturbation.

# %%
fx_sel, fy_sel = selection_images("fashion-mnist")
fdead = mf.dead_inputs(fashion.x_train)
flive = mf.live_connections(fgbp_runs[0].params, fdead)
rows = []
for g, b in zip(fgbp_runs, fbp_runs):
    study = mf.ensemble_study(g.params, fx_test, fy_test, n=n_networks, generator=mf.generator(100 + g.seed))
    e = study["errors"].numpy()
    rows.append({"seed": g.seed, "gBP, sampled sub-networks": e.mean(), "sampled sd": e.std(ddof=1), "sampled max": e.max(),
                 "gBP, eps = 0 mean field": g.final("mf_mean"), "gBP, noisy mean field": g.final("mf_noisy"),
                 "disagreement (%)": 100 * study["disagreement"],
                 "BP, recipe-matched": b.final("mf_mean"), "BP, early stopping": mf.evaluate(b.best_network(), fx_test, fy_test)["mf_mean"],
                 "selection, BP, recipe-matched": mf.evaluate(b.network(), fx_sel, fy_sel)["mf_mean"],
                 "selection, BP, early stopping": mf.evaluate(b.best_network(), fx_sel, fy_sel)["mf_mean"]})
fes = pd.DataFrame(rows).set_index("seed")
f_strongest = min(("BP, recipe-matched", "BP, early stopping"), key=lambda n: fes[f"selection, {n}"].mean())  # the rule
print(f"{int(fdead.sum())} Fashion-MNIST pixels are blank in every training image; strongest BP on the selection images: {f_strongest}")
fes.agg(["mean", "std"]).T.round(2)

# %%
def layer_rows(ds, rs, live_masks):
    return [{"dataset": ds, "view": view, "seed": r.seed, "layer": l + 1, **row}
            for r in rs for view, inc in (("all", None), ("live inputs", live_masks))
            for l, row in enumerate(mf.category_fractions(r.params, include=inc))]


mlive = mf.live_connections(gbp_runs[0].params, dead)
fr = pd.DataFrame(layer_rows("MNIST", gbp_runs, mlive) + layer_rows("Fashion-MNIST", fgbp_runs, flive))
cat_cols = ["VIP", "UIP", "variable", "pi==0", "pi==1", "xi==0"]
fr_summary = 100 * fr.groupby(["dataset", "view", "layer"], sort=False)[cat_cols].agg(["mean", "std"])
fmoved = pd.DataFrame([{"seed": r.seed, "layer": l + 1, **row} for r in fgbp_runs
                       for l, row in enumerate(mf.connections.moved_fractions(r.params, r.pi_max, include=flive))])
fr_summary.xs("mean", axis=1, level=1).round(2)

# %% [markdown]
# The target weight perturbation of notebook 4 on Fashion-MNIST: the same function, fractions,
# samples per point, curves and generator seeds, among the connections from live inputs. The MNIST
# curves beside them are notebook 4's own (read from `results/ensemble.json`), not a second estimate.

# %%
fcurves = [mf.perturbation(r.params, fx_test, fy_test, n_samples=n_perturb, include=flive, generator=mf.generator(300 + r.seed))
           for r in fgbp_runs]
keys = mf.perturbations.CURVES
fpert = {key: mf.stats.over_seeds([[p[0] for p in c[key]] for c in fcurves]) for key in keys}
pert_fractions = fcurves[0]["fractions"]
i1 = len(pert_fractions) - 1
fper_seed = {"seed": seeds, "unperturbed": [c["unperturbed"][0] for c in fcurves],
             "delta_at_f1": {k: [c[k][i1][0] - c["unperturbed"][0] for c in fcurves] for k in keys},
             "counts": pd.DataFrame([c["counts"] for c in fcurves]).to_dict(orient="list")}
mpert = mf.nb.load_results("ensemble")["perturbation"]
pd.DataFrame({ds: {k: np.mean(d["delta_at_f1"][k]) for k in keys} for ds, d in
              (("MNIST (notebook 4)", mpert["per_seed"]), ("Fashion-MNIST", fper_seed))}).round(2)

# %%
merr = pd.DataFrame(mf.nb.load_results("ensemble")["subnetworks"]).set_index("seed")
err_cols = {"gBP, sampled sub-networks": ("sampled mean", "C0"), "gBP, eps = 0 mean field": ("eps=0 MF", "C4"),
            "BP, recipe-matched": (None, "C3"), "BP, early stopping": (None, "C1")}
mnist_errs = {"gBP, sampled sub-networks": merr["sampled mean"], "gBP, eps = 0 mean field": merr["eps=0 MF"],
              "BP, recipe-matched": pd.Series([b.final("mf_mean") for b in bp_runs]),
              "BP, early stopping": pd.Series([mf.evaluate(b.best_network(), x_test, y_test)["mf_mean"] for b in bp_runs])}
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
for i, (c, (_, colour)) in enumerate(err_cols.items()):
    vals = [mnist_errs[c], fes[c]]
    axes[0].bar(np.arange(2) + 0.2 * (i - 1.5), [v.mean() for v in vals], 0.2, yerr=[v.std() for v in vals], color=colour,
                capsize=3, label=c)
axes[0].set_xticks(range(2), ["MNIST", "Fashion-MNIST"])
axes[0].set(ylabel="test error (%)", title="Final test errors (mean ± sd over seeds)")
axes[0].legend(fontsize=8)
exact_all = fr_summary.xs("all", level="view")
for ax, cat in zip(axes[1:], ("VIP", "UIP")):
    for i, (ds, colour) in enumerate((("MNIST", "C0"), ("Fashion-MNIST", "C1"))):
        d = exact_all.loc[ds]
        ax.bar(d.index + 0.2 * (2 * i - 1), d[(cat, "mean")], 0.4, yerr=d[(cat, "std")].fillna(0), color=colour, capsize=3, label=ds)
    ax.set_xticks([1, 2, 3], ["layer 1", "layer 2", "layer 3"])
    ax.set(ylabel=f"{cat} fraction (% of the layer)", title=f"{cat}s per layer ({'π = 0 and Ξ = 0' if cat == 'VIP' else 'π = 1'}), all connections")
    ax.legend(fontsize=8)
fig.suptitle(f"The paper recipe on MNIST and on Fashion-MNIST, {n_seeds} seeds")
fig.tight_layout()
mf.nb.save_figure(fig, "07f_fashion_errors_and_categories")

# %%
names = {"vip_removal": ("remove VIPs", "k", "o"), "matched_removal": ("remove as many variable, matched (control)", "C1", "D"),
         "uip_activation": ("give UIPs values", "C2", "^"), "random_resample": ("give as many random non-UIPs values (control)", "C4", "v")}
fig, axes = plt.subplots(1, 2, figsize=(13, 4.4), sharey=True)
for ax, (ds, curves_ds, counts_ds) in zip(axes, (("MNIST", mpert, mpert["per_seed"]["counts"]), ("Fashion-MNIST", fpert, fper_seed["counts"]))):
    for key, (label, colour, marker) in names.items():
        ax.errorbar(pert_fractions, curves_ds[key]["mean"], yerr=curves_ds[key]["sd"], color=colour, marker=marker, capsize=3, label=label)
    ax.set(title=f"{ds}: N_VIP = {np.mean(counts_ds['VIP']):.0f}, N_UIP = {np.mean(counts_ds['UIP']):.0f} (first layer, live inputs)",
           xlabel="fraction f of the targeted category", ylabel="test error (%)")
    ax.legend(fontsize=8)
fig.suptitle(f"Target weight perturbation of the first layer (notebook 4), {n_perturb} sub-networks per point, one error scale")
fig.tight_layout()
mf.nb.save_figure(fig, "07g_perturbation_mnist_vs_fashion")

# %% tags=["hide-input"] jupyter={"source_hidden": true}
fashion_results = {
    "errors_per_seed": fes.reset_index().to_dict(orient="records"), "strongest_bp": f_strongest,
    "errors": {c: {"mean": fes[c].mean(), "sd": fes[c].std()} for c in err_cols},
    "mnist_bp_early_stopping": mnist_errs["BP, early stopping"].tolist(),
    "dead_inputs": int(fdead.sum()),
    "category_fractions": {f"{ds}|{view}": {f"layer {l}": {c: {"mean": fr_summary.loc[(ds, view, l), (c, "mean")],
                                                                "sd": fr_summary.loc[(ds, view, l), (c, "std")]} for c in cat_cols}
                                             for l in (1, 2, 3)} for ds in ("MNIST", "Fashion-MNIST") for view in ("all", "live inputs")},
    "category_per_seed": fr[fr.dataset == "Fashion-MNIST"].to_dict("records"),
    "moved": fmoved.to_dict("records"),
    "perturbation": {"fractions": pert_fractions, "n_samples": n_perturb, **fpert, "per_seed": fper_seed},
}
print("wrote", mf.nb.save_results("fashion", fashion_results).relative_to(mf.nb.ROOT))

# %% [markdown]
# ## The answers in one table
#
# Written to `results/beyond.md`, which the README's "Beyond the paper" table shows (with the rows
# of notebook 8). "a ± b" is the mean ± sd over seeds, except for paired differences, where b is the
# standard error of the mean difference.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
def ms(d, fmt="{:.2f}"):
    return f"{fmt.format(d['mean'])} ± {fmt.format(d['sd'])}" if np.isfinite(d["sd"]) else fmt.format(d["mean"])


def one_point(network, scope, method):
    r = onept[(onept.network == network) & (onept.scope == scope) & (onept.method == method)].iloc[0]
    shown = "not reached" if not np.isfinite(r["mean"]) else ms(r)
    return shown + (f" ({r['not reached']} of {n_seeds} seeds not reached by {fractions[-1]})" if 0 < r["not reached"] < n_seeds else "")


def best(metric, largest=False):  # the main predictor with the lowest (or largest) mean of metric
    return (max if largest else min)(main, key=lambda n: cal_summary.loc[n, (metric, "mean")])


# %% tags=["hide-input"] jupyter={"source_hidden": true}
e1 = {m: onept[(onept.network == "eps=0") & (onept.scope == wn) & (onept.method == m)].iloc[0]["mean"] for m in methods}
best_score = max(methods, key=lambda m: np.nan_to_num(e1[m], nan=1.0))
md = ["| question | measure | answer |", "|---|---|---|"]
row = mf.nb.table_row  # a | inside a cell (|w|) is escaped
md += [row(f"1. pruning, primary: credit 1 - pi vs the same ensemble's mean-weight magnitude (eps = 0 net, {wn})",
           f"fraction removed at +1 point error, paired over {n_seeds} seeds",
           f"1 - pi {one_point('eps=0', wn, PRIMARY)}; |(1 - pi) m| {one_point('eps=0', wn, CONTROL)}; difference "
           f"{mf.stats.plus_minus(primary['mean'], primary['se'])} (p = {primary['p']:.2g})")]
md += [row(f"1. pruning, secondary scores (eps = 0 net, {wn})", "fraction removed at +1 point error", "; ".join(
    f"{m} {one_point('eps=0', wn, m)}" for m in methods if m not in (PRIMARY, CONTROL)) + f" (largest of all scores: {best_score})")]
md += [row("2. calibration (MNIST test)", "ECE / NLL / Brier", "; ".join(
    f"{n}: {stat(n, 'ece')['mean']:.4f} / {stat(n, 'nll')['mean']:.3f} / {stat(n, 'brier')['mean']:.4f}"
    for n in main) + f" (lowest ECE: {best('ece')}; lowest NLL: {best('nll')})")]
md += [row("3. MNIST vs Fashion-MNIST by entropy", "AUROC", "; ".join(f"{n} {ms(stat(n, 'auroc'), '{:.3f}')}" for n in main))]
md += [row("4. Fashion-MNIST, same recipe", "test error (%)", "; ".join(f"{c} {ms(fashion_results['errors'][c])}" for c in err_cols))]
path = mf.nb.out_dir("results") / "beyond.md"
mf.utils.atomic_write_bytes(path, ("\n".join(md) + "\n").encode())
mf.nb.show_markdown("\n".join(md))

# %% tags=["hide-input"] jupyter={"source_hidden": true}
K = main[-1]
ce, cn, ca = ({n: cal_summary.loc[n, (m, "mean")] for n in main} for m in ("ece", "nll", "auroc"))
fe = fashion_results["errors"]
f_gap = mf.stats.paired(fes["gBP, sampled sub-networks"], fes[f_strongest], "two-sided")
m_gap = merr["sampled mean"].mean() - mnist_errs["BP, recipe-matched"].mean()
fd = {k: np.mean(v) for k, v in fper_seed["delta_at_f1"].items()}
calib_free = ce[K] < min(ce[f"standard BP, {TS}"], ce[f"eps = 0 mean field, {TS}"])
pruning_sentence = (f"The primary comparison: pruning by the credit 1 - π keeps the error within 1 point of the unpruned one up to "
                    f"{one_point('eps=0', wn, PRIMARY)} of the connections removed, pruning the same ensemble by its mean weight's "
                    f"magnitude up to {one_point('eps=0', wn, CONTROL)}; seed by seed, the credit removes {abs(primary['mean']):.3f} ± "
                    f"{primary['se']:.3f} {'more' if primary['mean'] > 0 else 'less'} (two-sided p = {primary['p']:.2g}).")

# %% [markdown]
# ## What we learned

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.show_markdown(f"""
- **Pruning.** {pruning_sentence} Of all the scores tried, **{best_score}** has the largest mean ({one_point('eps=0', wn, best_score)};
  only the primary comparison is tested);
  magnitude pruning of the standard network reaches {one_point('eps=0', wn, 'BP, magnitude |w|')}, random removal
  {one_point('eps=0', wn, 'gBP, random')} (gBP) and {one_point('eps=0', wn, 'BP, random')} (BP).
- **Calibration.** ECE on the MNIST test set: {ce['standard BP']:.4f} (standard BP), {ce[f'standard BP, {TS}']:.4f} (temperature-scaled,
  T = {temperatures['standard BP'].mean():.2f} on average), {ce['eps = 0 mean field']:.4f} (eps = 0 mean field),
  {ce[f'eps = 0 mean field, {TS}']:.4f} (temperature-scaled), {ce[K]:.4f} ({K}); NLL {cn['standard BP']:.3f},
  {cn[f'standard BP, {TS}']:.3f}, {cn['eps = 0 mean field']:.3f}, {cn[f'eps = 0 mean field, {TS}']:.3f} and {cn[K]:.3f} nats.
  The best calibrated predictor is **{best('ece')}** by ECE and **{best('nll')}** by NLL: the average of sub-networks is
  {'better calibrated by ECE than either temperature-scaled network, and needs no held-out data' if calib_free else
   'not better calibrated by ECE than a temperature-scaled network: for a single network, one fitted number does at least as much as averaging sub-networks'}.
  The deep ensemble of the {n_seeds} standard networks reaches ECE {cal_summary.loc[DE, ('ece', 'mean')]:.4f} and NLL
  {cal_summary.loc[DE, ('nll', 'mean')]:.3f}, at {n_seeds} training runs' cost.
- **Out of distribution.** Predictive entropy tells Fashion-MNIST from MNIST test images with an AUROC of
  {ca['standard BP']:.3f} (standard BP), {ca[f'standard BP, {TS}']:.3f} (temperature-scaled), {ca['eps = 0 mean field']:.3f}
  (eps = 0 mean field) and {ca[K]:.3f} ({K}); the best of these is **{best('auroc', largest=True)}**. The deep ensemble of
  standard networks reaches {cal_summary.loc[DE, ('auroc', 'mean')]:.3f}.
- **Fashion-MNIST.** gBP's sampled sub-networks err on {fe['gBP, sampled sub-networks']['mean']:.2f} % of the test images; the
  strongest standard BP on the selection images, {f_strongest}, on {fe[f_strongest]['mean']:.2f} % (seed by seed
  {f_gap['mean']:+.2f} ± {f_gap['se']:.2f} points for gBP; on MNIST the gap to the recipe-matched BP is {m_gap:+.2f}).
  Removing every first-layer VIP raises the error by {fd['vip_removal']:+.2f} points, as many magnitude-matched variable ones
  by {fd['matched_removal']:+.2f}; giving every UIP values raises it by {fd['uip_activation']:+.2f}, giving as many random
  other connections values by {fd['random_resample']:+.2f}. Notebook 9 puts these beside MNIST, claim by claim.
""")

# %% [markdown]
# ## Try it
#
# 1. **Pruning one layer.** Prune only the first layer of seed 0 at 95 % by the credit $1-\pi$, by
#    $|(1-\pi)m|$ and at random, and compare the three errors of the $\epsilon = 0$ network. *Expect:*
#    random removal far worse than either score.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("07-beyond", 1, globals())

# %% [markdown]
# 2. **What temperature scaling does.** For the standard network of seed 0, print the fitted
#    temperature and the test ECE and NLL before and after dividing its logits by it. *Expect:* a
#    temperature above 1 (the network is over-confident), and both scores lower after.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("07-beyond", 2, globals())

# %% [markdown]
# 3. **Which Fashion-MNIST classes look most like digits?** The mean predictive entropy of the
#    $K$-average per Fashion-MNIST class, seed 0 (low entropy: confidently a digit). *Expect:* some
#    classes much lower than others.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("07-beyond", 3, globals())

# %%
mf.nb.versions()
