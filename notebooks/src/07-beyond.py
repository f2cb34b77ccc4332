# %% [markdown]
# # 7. Beyond the paper
#
# **The question.** The paper shows that the ensemble learns *which* connections deserve the credit.
# Four questions it does not ask: (1) is that credit a better guide for **pruning** than the
# plain magnitude of a standard network's weights? (2) Are the ensemble's predicted probabilities
# better **calibrated** than a standard network's? (3) Does the ensemble **know what it does not
# know**, i.e. is it less sure on images of another kind? (4) Does the picture hold on a **second
# data set**, Fashion-MNIST?
#
# **Why it matters.** A distribution over networks is more expensive than one network. It pays off
# if what it learns beyond one set of weights (a credit per connection, a spread of predictions) is
# useful: fewer connections for the same accuracy, honest probabilities, a warning on unfamiliar
# inputs, and a behaviour that is not an accident of MNIST.
#
# **What we do.** We reuse the paper-recipe runs of notebook 2 (gBP and standard BP, same seeds,
# served by the cache) and train the same recipe on the first 10,000 Fashion-MNIST training images.
# The standard network is the recipe-matched BP of notebook 2 (same architecture, schedule and
# learning rate as gBP); notebook 6 shows what tuning BP's learning rate on validation images changes.
#
# 1. **Pruning**, without retraining: remove connections in the order of a score and measure the
#    test error, per layer and in the whole network. Scores: the ensemble's credit, two ways, the
#    magnitude $|w|$ of the standard-BP weights, and random removal for both.
# 2. **Calibration** on the MNIST test set: negative log-likelihood (NLL), expected calibration
#    error (ECE, 15 equal-width confidence bins), Brier score, reliability diagrams; for the standard
#    network, the $\epsilon = 0$ and noisy mean-field passes, and the average of the predicted
#    probabilities of $K$ sampled sub-networks.
# 3. **Out of distribution**: the MNIST-trained networks see the Fashion-MNIST test images; how well
#    does the predictive entropy tell them from MNIST test images (AUROC)?
# 4. **Fashion-MNIST**: test errors of gBP and BP, the category fractions per layer and the target
#    weight perturbation of notebook 4, side by side with MNIST.
#
# Symbols: [glossary](../docs/glossary.md).

# %% tags=["parameters"]
quick: bool = False
n_seeds: int = 5
epochs: int = 200
n_train: int = 10_000
batch_size: int = 500
n_networks: int = 100   # the largest number K of sub-networks averaged (calibration)
n_perturb: int = 2      # sampled sub-networks per pruning or perturbation point
n_test: int = 10_000    # test images of each data set used (the first n_test)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

mf.nb.setup(globals())
seeds = list(range(n_seeds))
gbp_cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)  # notebook 2's runs
bp_cfg = gbp_cfg.replace(model="bp")
fgbp_cfg = gbp_cfg.replace(dataset="fashion-mnist", eval_every=epochs)  # new: evaluated at the end only
fbp_cfg = fgbp_cfg.replace(model="bp")
runs = mf.sweep([(c, s) for c in (gbp_cfg, bp_cfg, fgbp_cfg, fbp_cfg) for s in seeds])  # cached, parallel
gbp_runs, bp_runs, fgbp_runs, fbp_runs = (runs[i * n_seeds:(i + 1) * n_seeds] for i in range(4))
mnist = mf.load_dataset("mnist", n_train=n_train)
fashion = mf.load_dataset("fashion-mnist", n_train=n_train)
x_test, y_test = mnist.x_test[:n_test], mnist.y_test[:n_test]
fx_test, fy_test = fashion.x_test[:n_test], fashion.y_test[:n_test]

# %% [markdown]
# ## 1. Credit versus magnitude: pruning without retraining
#
# Each connection gets a score; connections are removed lowest score first (ties in random order),
# and the network is evaluated as it is, without retraining. Two scores come from the ensemble's
# $(\pi, m, \Xi)$:
#
# - **credit $1-\pi$**: the probability that the ensemble keeps the connection. It is the credit the
#   paper reads off; it ignores how large the weight is when present.
# - **credit rms** $= \sqrt{(1-\pi)(m^2+\Xi)}$: the root mean square of $w$ under
#   $P(w) = \pi\,\delta(w) + (1-\pi)\,\mathcal N(m, \Xi)$. It combines how often a connection is
#   there with how large it is then, the ensemble's analogue of $|w|$.
#
# Removing a connection of the ensemble sets its $\pi = 1$: the $\epsilon = 0$ network then has
# weight $(1-\pi)m = 0$ there, and no sampled sub-network has it. **Magnitude pruning** removes the
# smallest $|w|$ of the standard-BP network; **random** removal (for both) is the control. "Layer $l$"
# prunes only that weight layer; "whole network" prunes the same fraction of every layer (each
# ranked within its layer, so no layer is emptied first because its weights are on another scale).

# %%
fractions = [0.0, 0.2, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99]  # finer where errors start to rise
methods = {  # name: (runs, score)
    "gBP, credit 1 - pi": (gbp_runs, "presence"), "gBP, credit rms": (gbp_runs, "rms"),
    "gBP, random": (gbp_runs, "random"), "BP, magnitude": (bp_runs, "magnitude"), "BP, random": (bp_runs, "random"),
}
scopes = {"layer 1": [0], "layer 2": [1], "layer 3": [2], "whole network": [0, 1, 2]}
rows = []
for name, (method_runs, kind) in methods.items():
    for run in method_runs:
        g = mf.generator(700 + run.seed)
        scores = mf.pruning.keep_scores(run.params, kind, g)
        for scope, layers in scopes.items():
            n = n_perturb if scope == "whole network" and name.startswith("gBP") else 0  # sampled: whole network only
            c = mf.pruning.pruning_curve(run.params, scores, fractions, x_test, y_test, layers, n, g)
            rows += [{"method": name, "scope": scope, "seed": run.seed, "fraction": f, "eps=0": e,
                      "sampled": c["sampled"][i] if n else np.nan} for i, (f, e) in enumerate(zip(fractions, c["mean"]))]
prune = pd.DataFrame(rows)
(prune[prune.fraction.isin([0.0, 0.5, 0.7, 0.9])].groupby(["scope", "method", "fraction"], sort=False)["eps=0"]
 .mean().unstack("fraction").round(2))

# %% [markdown]
# The table: mean test error (%) over seeds of the $\epsilon = 0$ network (for BP: the network) at
# four fractions removed; the figure shows every fraction.

# %%
styles = {"gBP, credit 1 - pi": ("C0", "o"), "gBP, credit rms": ("C2", "s"), "gBP, random": ("C0", "x"),
          "BP, magnitude": ("C3", "^"), "BP, random": ("C3", "+")}


def curve(ax, d, column, name, ls=None, alpha=1.0, label=True):
    s = d.groupby("fraction")[column].agg(["mean", "std"])
    colour, marker = styles[name]
    ls = ls or (":" if name.endswith("random") else "-")
    ax.plot(s.index, s["mean"], color=colour, marker=marker, ms=4, ls=ls, alpha=alpha, label=name if label else None)
    ax.fill_between(s.index, s["mean"] - s["std"].fillna(0), s["mean"] + s["std"].fillna(0), color=colour, alpha=0.15, lw=0)


def frame(ax, title):
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_yscale("log")
    ax.set_xlabel("fraction of connections removed")
    ax.set_title(title, fontsize=10)

# %%
fig, axes = plt.subplots(1, 4, figsize=(15, 4), sharey=True)
for ax, scope in zip(axes, scopes):
    for name in methods:
        curve(ax, prune[(prune.scope == scope) & (prune.method == name)], "eps=0", name)
    frame(ax, f"{scope} pruned")
axes[0].set_ylabel("MNIST test error (%), log scale")
axes[0].legend(fontsize=8)
fig.suptitle("Pruning without retraining: the eps = 0 ensemble (gBP) and the standard network (BP); "
             f"mean ± sd over {n_seeds} seeds", fontsize=11)
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
onept.drop(columns="per_seed").set_index(["network", "scope", "method"]).round(3)

# %%
sampled = prune[(prune.scope == "whole network") & prune.method.str.startswith("gBP")]
fig, axes = plt.subplots(1, 2, figsize=(13, 4.3), gridspec_kw={"width_ratios": [1, 1.2]})
for name in [m for m in methods if m.startswith("gBP")]:
    curve(axes[0], sampled[sampled.method == name], "sampled", name)
    curve(axes[0], sampled[sampled.method == name], "eps=0", name, ls="--", alpha=0.4, label=False)
frame(axes[0], f"whole network: sampled sub-networks (solid, {n_perturb} per point)\nvs the eps = 0 network (dashed)")
axes[0].set_ylabel("MNIST test error (%), log scale")
axes[0].legend(fontsize=8)
ax = axes[1]
labels = [s + (", sampled sub-networks" if n == "sampled" else "") for n, s in zip(onept.network, onept.scope)]
order = list(dict.fromkeys(labels))
for name in methods:
    d = onept[onept.method == name]
    y = [order.index(s + (", sampled sub-networks" if n == "sampled" else "")) + 0.12 * (list(methods).index(name) - 2)
         for n, s in zip(d.network, d.scope)]
    ax.errorbar(d["mean"], y, xerr=d["sd"].fillna(0), fmt=styles[name][1], color=styles[name][0], capsize=3, label=name)
ax.set_yticks(range(len(order)), order, fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("fraction removed at +1 point of test error (mean ± sd over seeds)")
ax.set_title(f"Where pruning starts to cost (eps = 0 / BP network unless marked; missing: not reached by {fractions[-1]})",
             fontsize=9)
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()
mf.nb.save_figure(fig, "07b_pruning_sampled_and_one_point")

# %%
def table(column, scope):
    d = prune[prune.scope == scope].groupby(["method", "fraction"])[column].agg(["mean", "std"])
    return {m: {"mean": d.loc[m]["mean"].tolist(), "sd": d.loc[m]["std"].fillna(0).tolist()}
            for m in d.index.get_level_values(0).unique() if d.loc[m]["mean"].notna().all()}


pruning_results = {
    "fractions": fractions, "scores": {"gBP, credit 1 - pi": "1 - pi", "gBP, credit rms": "sqrt((1 - pi)(m^2 + xi))",
                                       "BP, magnitude": "|w|", "random": "uniform random"},
    "eps0": {s: table("eps=0", s) for s in scopes}, "sampled_whole_network": table("sampled", "whole network"),
    "n_samples": n_perturb, "one_point": {f"{n} | {s} | {m}": {k: r[k] for k in ("mean", "sd", "not reached", "per_seed")}
                                          for n, s, m, r in zip(onept.network, onept.scope, onept.method, onept.to_dict("records"))},
}
print("wrote", mf.nb.save_results("pruning", pruning_results).relative_to(mf.nb.ROOT))

# %% [markdown]
# ## 2. Calibration
#
# A predictor turns the trained networks into class probabilities for each test image:
#
# - **standard BP**: the softmax of the standard network's logits;
# - **eps = 0 mean field**: the softmax of the mean-field logits with $\epsilon = 0$;
# - **noisy mean field**: the softmax of one noisy mean-field pass (fresh $\epsilon$ per unit and image);
# - **K sub-networks**: the average of the softmax of $K$ sub-networks sampled from the ensemble
#   (a Monte Carlo estimate of the ensemble's predictive distribution); the first 10 of the 100 are
#   the $K = 10$ average, and so on.
#
# With $p$ the predicted probabilities and $y$ the label, over the first `n_test` MNIST test images (all 10,000 at paper scale):
# **NLL** $= -\langle \log p_y\rangle$ (nats); **Brier** $= \langle\sum_c (p_c - [y=c])^2\rangle$;
# **ECE** $= \sum_b \frac{n_b}{n}\,|\mathrm{accuracy}_b - \mathrm{confidence}_b|$ over 15 equal-width
# bins of the confidence $\max_c p_c$. Lower is better for all three. The Fashion-MNIST test images
# go through the same passes (section 3).

# %%
ks = sorted({1, 10, n_networks})
k_grid = sorted({k for k in (1, 2, 5, 10, 20, 50) if k <= n_networks} | set(ks))
x_both = torch.cat([x_test, fx_test])  # MNIST test images, then Fashion-MNIST ones
n_in = len(x_test)


@torch.no_grad()
def predictors(run, bp_run):
    net, g = run.network(), mf.generator(800 + run.seed)
    out = {"standard BP": mf.calibration.batched_probs(bp_run.network(), x_both),  # 2,500 images at a time
           "eps = 0 mean field": mf.calibration.batched_probs(lambda x: net(x, noise=False), x_both),
           "noisy mean field": mf.calibration.batched_probs(lambda x: net(x, generator=g), x_both)}
    out.update({f"K = {k} sub-networks": p for k, p in mf.calibration.sampled_probs(run.params, x_both, k_grid, g).items()})
    return out


probs = [predictors(r, b) for r, b in zip(gbp_runs, bp_runs)]  # per seed: {predictor: (20000, 10)}
main = ["standard BP", "eps = 0 mean field", "noisy mean field"] + [f"K = {k} sub-networks" for k in ks]

# %%
rows = []
for seed, pr in zip(seeds, probs):
    for name, p in pr.items():
        ent = mf.calibration.entropy(p)
        rows.append({"predictor": name, "seed": seed, **mf.calibration.scores(p[:n_in], y_test),
                     "auroc": mf.calibration.auroc(ent[:n_in], ent[n_in:])})
cal = pd.DataFrame(rows)
metrics = ["error", "nll", "ece", "brier", "auroc"]
cal_summary = cal.groupby("predictor", sort=False)[metrics].agg(["mean", "std"])
cal_summary.loc[main].round(4)

# %% [markdown]
# Reliability diagrams: the accuracy in each confidence bin against the bin's mean confidence, all
# seeds pooled. A calibrated predictor sits on the diagonal; below it, the predictor is
# over-confident. Most test images fall in the last bin; the small number over each bar is the
# share of images in that bin (%). Bins with fewer than `min_bin` images (pooled over seeds) are not
# drawn: one or two images give an accuracy of 0 or 1 that says nothing (the ECE counts them, with
# their tiny weight).

# %%
def pooled_bins(name):
    bins = [mf.calibration.reliability_bins(pr[name][:n_in], y_test) for pr in probs]
    count = sum(b["count"] for b in bins)
    acc = sum(torch.nan_to_num(b["accuracy"]) * b["count"] for b in bins) / count.clamp(min=1)
    conf = sum(torch.nan_to_num(b["confidence"]) * b["count"] for b in bins) / count.clamp(min=1)
    return count.numpy(), acc.numpy(), conf.numpy(), bins[0]["edges"].numpy()


# %%
min_bin = 10
fig, axes = plt.subplots(2, 3, figsize=(12, 7.5), sharex=True, sharey=True)
for ax, name in zip(axes.flat, main):
    count, acc, conf, edges = pooled_bins(name)
    has = count >= min_bin
    ax.bar(conf[has], acc[has], width=0.8 * (edges[1] - edges[0]), color="C0", alpha=0.7, label="accuracy in bin")
    for c, a, n in zip(conf[has], acc[has], 100 * count[has] / count.sum()):
        ax.text(c, a + 0.02, f"{n:.2g}", ha="center", fontsize=6)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set_title(f"{name}\nECE {cal_summary.loc[name, ('ece', 'mean')]:.4f}", fontsize=10)
for ax in axes[-1]:
    ax.set_xlabel("confidence max_c p_c (bin mean)")
for ax in axes[:, 0]:
    ax.set_ylabel("accuracy")
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=9)
fig.suptitle(f"Reliability diagrams on the MNIST test set, {n_seeds} seeds pooled (15 equal-width bins; "
             f"bins of fewer than {min_bin} images not drawn)", fontsize=11)
fig.tight_layout(rect=(0, 0.04, 1, 1))
mf.nb.save_figure(fig, "07c_reliability_diagrams")

# %% [markdown]
# How the average of $K$ sub-networks improves with $K$, next to the single networks (horizontal
# lines). Accuracy is shown as the test error.

# %%
kc = cal[cal.predictor.str.startswith("K = ")].assign(K=lambda d: d.predictor.str.extract(r"K = (\d+)")[0].astype(int))
kc = kc.groupby("K")[metrics].agg(["mean", "std"])
fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
for ax, (metric, label) in zip(axes, [("error", "MNIST test error (%)"), ("nll", "NLL (nats)"),
                                      ("ece", "ECE"), ("auroc", "AUROC, MNIST vs Fashion-MNIST")]):
    ax.errorbar(kc.index, kc[(metric, "mean")], yerr=kc[(metric, "std")].fillna(0), marker="o", capsize=3,
                color="C0", label="average of K sub-networks")
    for name, colour in (("standard BP", "C3"), ("eps = 0 mean field", "C4"), ("noisy mean field", "C2")):
        ax.axhline(cal_summary.loc[name, (metric, "mean")], color=colour, ls="--", lw=1.2, label=name)
    ax.set_xscale("log")
    ax.set_xticks(k_grid, [str(k) for k in k_grid])
    ax.set_xlabel("K, sub-networks averaged")
    ax.set_ylabel(label)
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=9)
fig.suptitle(f"Averaging sampled sub-networks (mean ± sd over {n_seeds} seeds)", fontsize=11)
fig.tight_layout(rect=(0, 0.08, 1, 1))
mf.nb.save_figure(fig, "07d_accuracy_calibration_vs_K")

# %% [markdown]
# ## 3. Knowing what it does not know
#
# The MNIST-trained networks see the first `n_test` Fashion-MNIST test images, which belong to none of
# their classes. A network that knows what it does not know spreads its probability there: its
# predictive entropy $H = -\sum_c p_c \log p_c$ is higher than on MNIST test images. The **AUROC**
# is the probability that a random Fashion-MNIST image gets a higher entropy than a random MNIST
# image (ties count 1/2): 1 separates them perfectly, 0.5 not at all. It is the `auroc` key of each
# predictor in `results/calibration.json`, and the last column of the table above.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
bins = np.linspace(0, np.log(10), 41)
for ax, name in zip(axes, ["standard BP", main[-1]]):
    ent = mf.calibration.entropy(probs[0][name]).numpy()
    ax.hist(ent[:n_in], bins=bins, alpha=0.6, color="C0", label="MNIST test (in distribution)")
    ax.hist(ent[n_in:], bins=bins, alpha=0.6, color="C1", label="Fashion-MNIST test (unseen kind)")
    ax.set_yscale("log")
    ax.set_xlabel("predictive entropy H (nats; log 10 = uniform)")
    ax.set_title(f"{name}, seed 0: AUROC {cal[(cal.predictor == name) & (cal.seed == 0)].auroc.item():.3f}", fontsize=10)
axes[0].set_ylabel("images per bin (log scale)")
axes[0].legend(fontsize=8)
fig.suptitle("MNIST-trained networks on MNIST and on Fashion-MNIST images", fontsize=11)
fig.tight_layout()
mf.nb.save_figure(fig, "07e_entropy_mnist_vs_fashion")

# %%
def stat(name, metric):
    return {"mean": cal_summary.loc[name, (metric, "mean")], "sd": cal_summary.loc[name, (metric, "std")]}


calibration_results = {
    "predictors": {name: {m: stat(name, m) for m in metrics} for name in cal_summary.index},
    "k_grid": k_grid, "main": main, "n_bins": 15,
    "reliability": {name: dict(zip(("count", "accuracy", "confidence"), pooled_bins(name)[:3])) for name in main},
    "auroc_note": "auroc: MNIST test (negative) vs Fashion-MNIST test (positive) by predictive entropy",
}
print("wrote", mf.nb.save_results("calibration", calibration_results).relative_to(mf.nb.ROOT))

# %% [markdown]
# ## 4. A second data set: Fashion-MNIST
#
# The same recipe (784-100-100-10, the first 10,000 training images, 200 epochs, 5 seeds) on
# Fashion-MNIST: 28×28 grey images of ten kinds of clothing, a harder task than digits. We compare
# the final test errors, the category fractions per layer (notebook 3) and the target weight
# perturbation of the first layer (notebook 4), with MNIST next to it.

# %%
def errors(gbp, bp, dataset):
    return [{"dataset": dataset, "seed": g.seed, "gBP, sampled network": g.final("sampled"),
             "gBP, eps = 0 mean field": g.final("mf_mean"), "standard BP": b.final("mf_mean")}
            for g, b in zip(gbp, bp)]


errs = pd.DataFrame(errors(gbp_runs, bp_runs, "MNIST") + errors(fgbp_runs, fbp_runs, "Fashion-MNIST"))
err_summary = errs.drop(columns="seed").groupby("dataset", sort=False).agg(["mean", "std"])
fr = pd.DataFrame([{"dataset": ds, "layer": l + 1, **row} for ds, rs in (("MNIST", gbp_runs), ("Fashion-MNIST", fgbp_runs))
                   for r in rs for l, row in enumerate(mf.category_fractions(r.params))])
fr_summary = (100 * fr.groupby(["dataset", "layer"], sort=False)[["VIP", "UIP", "variable"]].agg(["mean", "std"]))
display(err_summary.round(2))
fr_summary.round(2)

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
cols = ["gBP, sampled network", "gBP, eps = 0 mean field", "standard BP"]
xs = np.arange(2)
for i, (c, colour) in enumerate(zip(cols, ("C0", "C4", "C3"))):
    axes[0].bar(xs + 0.27 * (i - 1), err_summary[(c, "mean")], 0.27, yerr=err_summary[(c, "std")].fillna(0),
                color=colour, capsize=3, label=c)
axes[0].set_xticks(xs, err_summary.index)
axes[0].set_ylabel("test error (%)")
axes[0].set_title("Final test errors (mean ± sd over seeds)", fontsize=10)
axes[0].legend(fontsize=8)
for ax, cat in zip(axes[1:], ("VIP", "UIP")):
    for i, (ds, colour) in enumerate((("MNIST", "C0"), ("Fashion-MNIST", "C1"))):
        d = fr_summary.loc[ds]
        ax.bar(d.index + 0.2 * (2 * i - 1), d[(cat, "mean")], 0.4, yerr=d[(cat, "std")].fillna(0), color=colour,
               capsize=3, label=ds)
    ax.set_xticks([1, 2, 3], ["layer 1", "layer 2", "layer 3"])
    ax.set_ylabel(f"{cat} fraction (% of the layer)")
    ax.set_title(f"{cat}s per layer ({'pi = 0 and Xi = 0' if cat == 'VIP' else 'pi = 1'})", fontsize=10)
    ax.legend(fontsize=8)
fig.suptitle(f"The paper recipe on MNIST and on Fashion-MNIST, {n_seeds} seeds", fontsize=11)
fig.tight_layout()
mf.nb.save_figure(fig, "07f_fashion_errors_and_categories")

# %% [markdown]
# The target weight perturbation of notebook 4 (`mf.perturbation`, first layer) on both data sets,
# at five fractions, `n_perturb` samples per point, among the connections from live inputs (pixels
# not blank in every training image of that data set): remove a fraction of the VIPs, remove as many
# variable connections matched to them in magnitude (the control of notebook 4), or switch on a
# fraction of the UIPs with values copied from the layer's present weights.

# %%
pert_fractions = [0.0, 0.25, 0.5, 0.75, 1.0]
pert = {}
keys = ("vip_removal", "matched_removal", "uip_activation")
for ds, rs, d, train in (("MNIST", gbp_runs, (x_test, y_test), mnist), ("Fashion-MNIST", fgbp_runs, (fx_test, fy_test), fashion)):
    live = mf.live_connections(rs[0].params, mf.dead_inputs(train.x_train))
    cs = [mf.perturbation(r.params, *d, fractions=pert_fractions, n_samples=n_perturb, include=live, curves=keys,
                          generator=mf.generator(900 + r.seed)) for r in rs]
    pert[ds] = {key: mf.stats.over_seeds([[p[0] for p in c[key]] for c in cs]) for key in keys}  # (seeds, fractions)
    pert[ds]["counts"] = pd.DataFrame([c["counts"] for c in cs]).mean().to_dict()

# %%
names = {"vip_removal": ("remove VIPs", "C3", "o"), "matched_removal": ("remove as many variable, matched (control)", "C0", "s"),
         "uip_activation": ("activate UIPs", "C2", "^")}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for ax, ds in zip(axes, pert):
    for key, (label, colour, marker) in names.items():
        ax.errorbar(pert_fractions, pert[ds][key]["mean"], yerr=pert[ds][key]["sd"], color=colour, marker=marker,
                    capsize=3, label=label)
    c = pert[ds]["counts"]
    ax.set_title(f"{ds}: N_VIP = {c['VIP']:.0f}, N_UIP = {c['UIP']:.0f} (first layer, mean over seeds)", fontsize=10)
    ax.set_xlabel("fraction f of the targeted category")
    ax.set_ylabel("test error (%)")
    ax.legend(fontsize=8)
fig.suptitle("Target weight perturbation of the first layer (as notebook 4), MNIST and Fashion-MNIST", fontsize=11)
fig.tight_layout()
mf.nb.save_figure(fig, "07g_perturbation_mnist_vs_fashion")

# %%
base = {ds: np.mean([pert[ds][k]["mean"][0] for k in names]) for ds in pert}  # f = 0: all three unperturbed
delta = {ds: {k: pert[ds][k]["mean"][-1] - base[ds] for k in names} for ds in pert}
fashion_results = {
    "errors": {ds: {c: {"mean": err_summary.loc[ds, (c, "mean")], "sd": err_summary.loc[ds, (c, "std")]} for c in cols}
               for ds in err_summary.index},
    "errors_per_seed": errs.to_dict(orient="records"),
    "category_fractions": {ds: {f"layer {l}": {c: fr_summary.loc[(ds, l), (c, "mean")] for c in ("VIP", "UIP", "variable")}
                                for l in (1, 2, 3)} for ds in err_summary.index},
    "perturbation": {"fractions": pert_fractions, "n_samples": n_perturb, **pert}, "delta_at_f1": delta,
}
print("wrote", mf.nb.save_results("fashion", fashion_results).relative_to(mf.nb.ROOT))

# %% [markdown]
# ## The answers in one table
#
# Written to `results/beyond.md`; the README's "Beyond the paper" table is this file, copied by
# `make figures`.

# %%
def ms(d, fmt="{:.2f}"):
    return f"{fmt.format(d['mean'])} ± {fmt.format(d['sd'])}" if np.isfinite(d["sd"]) else fmt.format(d["mean"])


def one_point(network, scope, method):
    r = onept[(onept.network == network) & (onept.scope == scope) & (onept.method == method)].iloc[0]
    shown = "not reached" if not np.isfinite(r["mean"]) else ms(r)
    return shown + (f" ({r['not reached']} of {n_seeds} seeds not reached by {fractions[-1]})" if 0 < r["not reached"] < n_seeds else "")


def best(metric, largest=False):  # the main predictor with the lowest (or largest) mean of metric
    return (max if largest else min)(main, key=lambda n: cal_summary.loc[n, (metric, "mean")])

# %%
wn = "whole network"
md = ["| question | measure | answer |", "|---|---|---|"]
md += [f"| 1. pruning (eps = 0 net, {wn}) | fraction removed at +1 point error | " + "; ".join(
    f"{m} {one_point('eps=0', wn, m)}" for m in methods) + " |"]
md += [f"| 1. pruning (sampled sub-networks, {wn}) | fraction removed at +1 point error | " + "; ".join(
    f"{m} {one_point('sampled', wn, m)}" for m in methods if m.startswith("gBP")) + " |"]
md += ["| 2. calibration (MNIST test) | ECE / NLL / Brier | " + "; ".join(
    f"{n}: {stat(n, 'ece')['mean']:.4f} / {stat(n, 'nll')['mean']:.3f} / {stat(n, 'brier')['mean']:.4f}"
    for n in main) + f" (lowest ECE: {best('ece')}) |"]
md += ["| 3. MNIST vs Fashion-MNIST by entropy | AUROC | " + "; ".join(f"{n} {ms(stat(n, 'auroc'), '{:.3f}')}" for n in main) + " |"]
md += ["| 4. Fashion-MNIST, same recipe | test error (%) | " + "; ".join(
    f"{c} {ms(fashion_results['errors']['Fashion-MNIST'][c])}" for c in cols) + " |"]
path = mf.nb.out_dir("results") / "beyond.md"
mf.utils.atomic_write_bytes(path, ("\n".join(md) + "\n").encode())
mf.nb.show_markdown("\n".join(md))

# %%
e1 = {m: onept[(onept.network == "eps=0") & (onept.scope == wn) & (onept.method == m)].iloc[0]["mean"] for m in methods}
credit_best, credit_other = sorted(["gBP, credit 1 - pi", "gBP, credit rms"], key=lambda m: -np.nan_to_num(e1[m], nan=1.0))
beats = np.nan_to_num(e1[credit_best], nan=1.0) > np.nan_to_num(e1["BP, magnitude"], nan=1.0)
K = main[-1]
ce = {n: cal_summary.loc[n, ("ece", "mean")] for n in main}
cn = {n: cal_summary.loc[n, ("nll", "mean")] for n in main}
ca = {n: cal_summary.loc[n, ("auroc", "mean")] for n in main}
fe = fashion_results["errors"]["Fashion-MNIST"]
gap = fe["gBP, sampled network"]["mean"] - fe["standard BP"]["mean"]
gap_mnist = err_summary.loc["MNIST", ("gBP, sampled network", "mean")] - err_summary.loc["MNIST", ("standard BP", "mean")]
vip1 = {ds: fashion_results["category_fractions"][ds]["layer 1"]["VIP"] for ds in ("MNIST", "Fashion-MNIST")}
d_f = delta["Fashion-MNIST"]

# %% [markdown]
# ## What we learned

# %%
mf.nb.show_markdown(f"""
- **Pruning.** In the whole network the better credit score, {credit_best}, keeps the test error within 1 point
  of the unpruned one up to {one_point('eps=0', wn, credit_best)} of the connections removed; magnitude pruning of the
  standard network up to {one_point('eps=0', wn, 'BP, magnitude')}; random removal up to {one_point('eps=0', wn, 'gBP, random')}
  (gBP) and {one_point('eps=0', wn, 'BP, random')} (BP); the other credit score, {credit_other}, up to
  {one_point('eps=0', wn, credit_other)}. The ensemble's credit **{'prunes further than' if beats else 'does not prune further than'}**
  the magnitude of a standard network's weights (means over seeds; compare the difference with the sds).
- **Calibration.** ECE on the MNIST test set: {ce['standard BP']:.4f} (standard BP), {ce['eps = 0 mean field']:.4f}
  (eps = 0 mean field), {ce[K]:.4f} ({K}); NLL {cn['standard BP']:.3f}, {cn['eps = 0 mean field']:.3f} and {cn[K]:.3f} nats.
  The best calibrated predictor is **{best('ece')}** by ECE and **{best('nll')}** by NLL. Averaging sub-networks takes
  the error from {kc[('error', 'mean')].iloc[0]:.2f} % (K = 1) to {kc[('error', 'mean')].iloc[-1]:.2f} % (K = {kc.index[-1]}).
- **Out of distribution.** Predictive entropy tells Fashion-MNIST from MNIST test images with an AUROC of
  {ca['standard BP']:.3f} (standard BP), {ca['eps = 0 mean field']:.3f} (eps = 0 mean field) and {ca[K]:.3f} ({K});
  the best is **{best('auroc', largest=True)}**{'' if min(ca.values()) >= 0.5 else ' (below 0.5: a predictor is more sure of itself on Fashion-MNIST than on MNIST)'}.
- **Fashion-MNIST.** The sampled gBP network errs on {fe['gBP, sampled network']['mean']:.2f} % of the test images,
  standard BP on {fe['standard BP']['mean']:.2f} % ({gap:+.2f} points for gBP, against {gap_mnist:+.2f} on MNIST):
  {'gBP is at least as good' if gap <= 0 else 'gBP is worse'} here. First-layer VIPs: {vip1['Fashion-MNIST']:.2f} %
  (MNIST {vip1['MNIST']:.2f} %). Removing every first-layer VIP raises the error by {d_f['vip_removal']:+.2f} points, as
  many magnitude-matched variable ones by {d_f['matched_removal']:+.2f}, switching on every UIP by {d_f['uip_activation']:+.2f}: removing
  VIPs hurts **{'more than' if d_f['vip_removal'] > d_f['matched_removal'] else 'no more than'}** the control on Fashion-MNIST.
""")

# %% [markdown]
# ## Try it
#
# 1. Prune only the first layer of seed 0 by the credit $1-\pi$ and by random removal, at 95 %, and
#    compare the two errors of the $\epsilon = 0$ network.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    p = gbp_runs[0].params
#    for kind in ("presence", "random"):
#        c = mf.pruning.pruning_curve(p, mf.pruning.keep_scores(p, kind, mf.generator(0)), [0.0, 0.95],
#                                     x_test, y_test, layers=[0], generator=mf.generator(0))
#        print(kind, [round(e, 2) for e in c["mean"]])
#    ```
#    </details>
#
# 2. Is the standard network better calibrated after temperature scaling? Divide its logits by
#    T = 1.5 and compare ECE and NLL with T = 1.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    with torch.no_grad():
#        logits = bp_runs[0].network()(x_test)
#    for T in (1.0, 1.5):
#        print(T, mf.calibration.scores(torch.softmax(logits / T, -1), y_test))
#    ```
#    </details>
#
# 3. Which Fashion-MNIST classes look most like digits to the MNIST-trained ensemble? Mean predictive
#    entropy of the K-average per Fashion-MNIST class, seed 0 (low entropy = confidently a digit).
#
#    <details><summary>Solution</summary>
#
#    ```python
#    ent = mf.calibration.entropy(probs[0][main[-1]][n_in:])
#    print(pd.Series(ent.numpy()).groupby(fy_test.numpy()).mean().round(3))
#    ```
#    </details>

# %%
mf.nb.versions()
