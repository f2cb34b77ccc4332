# %% [markdown]
# # 8. Ground truth for credit: planted inputs that are known to be unneeded
#
# **The question.** Does the ensemble find the connections that are truly unneeded? The paper's
# central claim is that it *learns* credit assignment, but on MNIST nobody knows which connections
# are unneeded: notebooks 3, 4 and 7 show that the categories behave sensibly, not that they are
# right. Here the truth is known by construction, as in the planted (teacher–student) problems of
# the statistical physics of learning.
#
# **Why it matters.** If the ensemble's credit does not single out inputs that carry nothing, the
# "unimportant" label means something else (small, rarely used, or merely noisy), and the claim
# that the distribution learns which connections matter does not stand.
#
# **What we do.** Two planted problems, each trained with the paper recipe (gBP) and with the
# standard BP of the same shape, on the same seeds:
#
# 1. **Planted pixels on real data.** Every MNIST image gets `noise_pixels` extra input pixels whose
#    values are drawn independently for every image from the marginal distribution of real pixel
#    intensities: they look like pixels and say nothing about the label (`mf.planted.noise_pixels`).
#    Two views: the planted pixels are drawn once per image
#    (*fixed*), which a network that fits its 10,000 training images to a loss near zero could use to
#    memorise them; or drawn anew at every epoch (*redrawn*), which no connection can use.
# 2. **A planted teacher.** Gaussian inputs labelled by a fixed random network that reads only a known
#    half of them (`mf.planted.teacher`: 200 inputs, 100 read, 100 ReLU units, 10 classes); a student
#    of the paper's shape (200-100-100-10) learns from $M$ examples, at several $M$.
#
# The connections from planted pixels, and from the inputs the teacher does not read, are the
# truly unneeded ones. A credit score should rank them below the others. We measure how well it
# does with the **AUROC**: the probability that a randomly chosen needed connection scores higher
# than a randomly chosen unneeded one (1: perfect, 0.5: no better than chance;
# `mf.calibration.auroc`). The scores: the paper's credit $1-\pi$, the rms credit
# $\sqrt{(1-\pi)(m^2+\Xi)}$, the ensemble's mean-weight magnitude $|(1-\pi)m|$, the standard
# network's $|w|$, and random numbers.
#
# **The primary comparison, declared before any number:** the AUROC of the paper's credit $1-\pi$
# against that of BP's $|w|$, seed by seed (paired t-test, two-sided), in the *redrawn* view and, for
# the teacher, at the largest $M$. *Rule:* the credit is the better detector if the mean paired
# difference is positive with $p < 0.05$, the worse if it is negative with $p < 0.05$; otherwise no
# difference is detected. It is reported whichever way it comes out. Unit-level truth (which hidden
# unit of the student matches which of the teacher's) is not attempted: it would need the student's
# units aligned with the teacher's. Symbols: [glossary](../docs/glossary.md).

# %% tags=["parameters"]
quick: bool = False
n_seeds: int = 3              # seeds 0 .. n_seeds-1, for every configuration
epochs: int = 200
n_train: int = 10_000         # MNIST training images (planted pixels)
batch_size: int = 500
noise_pixels: int = 100       # planted pixels per image
teacher_sizes: list = [1000, 4000, 16000]   # training examples M of the teacher problem

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

mf.nb.setup(globals())
seeds = list(range(n_seeds))
base = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size, eval_every=epochs)
planted = {"fixed": base.replace(widths=(784 + noise_pixels, 100, 100, 10), noise_inputs=noise_pixels)}
planted["redrawn"] = planted["fixed"].replace(redraw_noise=True)
teacher = {M: base.replace(dataset="teacher", widths=(200, 100, 100, 10), n_train=M) for M in teacher_sizes}
configs = {("pixels", v): c for v, c in planted.items()} | {("teacher", M): c for M, c in teacher.items()}
configs["plain"] = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)  # notebook 2's runs
jobs = {(key, model, s): c if model == "gbp" else c.bp_baseline() for key, c in configs.items() for model in ("gbp", "bp")
        for s in seeds}
runs = dict(zip(jobs, mf.sweep([(cfg, key[2]) for key, cfg in jobs.items()])))  # in parallel, cached
print(f"{len(jobs)} runs: {len(configs) - 1} planted configurations and the plain MNIST ones of notebook 2, gBP and BP, "
      f"{n_seeds} seeds each")
fixed_loss = max(runs[(("pixels", "fixed"), "gbp", s)].metrics["train_loss"][-1] for s in seeds)
mf.nb.check(quick or fixed_loss < 0.05, "at paper scale the recipe fits its training images to a loss near zero")
print(f"largest final training loss, planted pixels fixed per image: {fixed_loss:.4f}")

# %% [markdown]
# ## The scores, and what is unneeded
#
# For each trained pair (gBP and BP of the same seed), every first-layer connection gets the five
# scores, and a label: needed or not. For the planted pixels, needed means coming from a *live*
# real pixel (one that is not blank in every training image: a blank pixel's connections get no
# gradient at all, notebook 3, and are left out of both sets).

# %%
SCORES = {"credit 1 - pi": "presence", "credit rms": "rms", "gBP |mean| |(1 - pi) m|": "mean", "BP |w|": "magnitude",
          "random": "random"}


def first_layer_scores(g_run, b_run, seed):
    """Each score's first-layer values (flat), and the random one drawn from a seeded generator."""
    out = {}
    for name, kind in SCORES.items():
        run = b_run if kind == "magnitude" else g_run
        out[name] = mf.pruning.keep_scores(run.params, kind, mf.generator(1000 + seed))[0].flatten()
    return out


def aurocs(scores, needed, unneeded):
    """P(score of a needed connection > score of an unneeded one), ties 1/2, for every score."""
    return {name: mf.calibration.auroc(v[unneeded], v[needed]) for name, v in scores.items()}


mnist = mf.load_dataset("mnist", n_train=n_train)
live_pixel = ~mf.dead_inputs(mnist.x_train)
is_noise = torch.cat([torch.zeros(784, dtype=torch.bool), torch.ones(noise_pixels, dtype=torch.bool)])
cols = torch.arange(784 + noise_pixels).expand(100, -1).flatten()  # the input of every first-layer connection
needed_px, unneeded_px = torch.cat([live_pixel, torch.zeros(noise_pixels, dtype=torch.bool)])[cols], is_noise[cols]

# %% [markdown]
# ## 1. Planted pixels
#
# Per view and seed: how the first-layer connections from the planted pixels and from live real
# pixels split into the three categories (percent of each set), with their mean $\pi$; mean ± sd
# over seeds.

# %%
auc_rows, cat_rows = [], []
for view in planted:
    for s in seeds:
        g, b = runs[(("pixels", view), "gbp", s)], runs[(("pixels", view), "bp", s)]
        auc_rows.append({"view": view, "seed": s, **aurocs(first_layer_scores(g, b, s), needed_px, unneeded_px)})
        pi, cat = g.params["pi"][0].flatten(), mf.categories(g.params["pi"][0], g.params["xi"][0]).flatten()
        for part, mask in (("planted pixels", unneeded_px), ("live real pixels", needed_px)):
            cat_rows.append({"view": view, "seed": s, "inputs": part, "mean pi": pi[mask].mean().item(),
                             **{k: 100 * (cat[mask] == c).double().mean().item() for c, k in enumerate(("VIP", "UIP", "variable"))}})
px_auc, px_cat = pd.DataFrame(auc_rows), pd.DataFrame(cat_rows)
px_cat.groupby(["view", "inputs"], sort=False)[["VIP", "UIP", "variable", "mean pi"]].agg(["mean", "std"]).round(2)

# %% [markdown]
# The test errors, with the planted pixels (their own test images carry planted pixels drawn the same
# way) and without them (notebook 2's runs of the same seeds): what the planted pixels cost.

# %%
err = pd.DataFrame([{"images": name, "seed": s, "gBP, one sampled sub-network": runs[(key, "gbp", s)].final("sampled"),
                     "gBP, eps = 0 mean field": runs[(key, "gbp", s)].final("mf_mean"),
                     "standard BP": runs[(key, "bp", s)].final("mf_mean")}
                    for name, key in (("plain MNIST", "plain"), ("planted pixels, fixed", ("pixels", "fixed")),
                                      ("planted pixels, redrawn", ("pixels", "redrawn"))) for s in seeds])
err.drop(columns="seed").groupby("images", sort=False).agg(["mean", "std"]).round(2)

# %% [markdown]
# How well each score tells the planted pixels' connections (unneeded) from the live real pixels'
# (needed): the AUROC, per view, mean ± sd over seeds.

# %%
px_auc.drop(columns="seed").groupby("view", sort=False).agg(["mean", "std"]).round(3)

# %% [markdown]
# ## 2. The planted teacher
#
# The student sees $M$ examples; the first-layer connections from the 100 inputs the teacher does not
# read are the unneeded ones. Beside the AUROCs, an input-level reading of the paper's categories:
# an input is called unused when *every* connection from it is a UIP ($\pi = 1$ for all 100 hidden
# units). Its **precision** is the share of inputs called unused that the teacher indeed ignores,
# its **recall** the share of ignored inputs that are called unused (an empty call has precision 0
# by convention here, reported with the number of inputs called unused).

# %%
used = mf.planted.teacher().used
t_cols = torch.arange(200).expand(100, -1).flatten()
needed_t, unneeded_t = used[t_cols], ~used[t_cols]
t_rows = []
for M in teacher_sizes:
    for s in seeds:
        g, b = runs[(("teacher", M), "gbp", s)], runs[(("teacher", M), "bp", s)]
        called = (g.params["pi"][0] == 1).all(0)  # every connection from the input is a UIP
        hit = int((called & ~used).sum())
        t_rows.append({"M": M, "seed": s, **aurocs(first_layer_scores(g, b, s), needed_t, unneeded_t),
                       "inputs called unused": int(called.sum()), "precision": hit / max(int(called.sum()), 1),
                       "recall": hit / int((~used).sum()), "UIP share, unneeded (%)": 100 * (g.params["pi"][0].flatten()[unneeded_t] == 1).double().mean().item(),
                       "UIP share, needed (%)": 100 * (g.params["pi"][0].flatten()[needed_t] == 1).double().mean().item(),
                       "gBP test error (%)": g.final("sampled"), "BP test error (%)": b.final("mf_mean")})
teach = pd.DataFrame(t_rows)
display(teach.groupby("M")[list(SCORES)].mean().round(3))  # AUROC of each score, mean over seeds
teach.groupby("M")[["inputs called unused", "precision", "recall", "UIP share, unneeded (%)", "UIP share, needed (%)",
                    "gBP test error (%)", "BP test error (%)"]].mean().round(2)

# %%
colours = {"credit 1 - pi": "C0", "credit rms": "C2", "gBP |mean| |(1 - pi) m|": "C1", "BP |w|": "C3", "random": "0.5"}
fig, axes = plt.subplots(1, 2, figsize=(13, 4.3), gridspec_kw={"width_ratios": [1, 1.2]})
c = px_cat.groupby(["view", "inputs"], sort=False)[["VIP", "UIP", "variable"]].mean()
c.plot.bar(ax=axes[0], rot=0, color=["C4", "C3", "0.7"])
axes[0].set_xticks(range(len(c)), [f"{v}:\n{i}" for v, i in c.index])
axes[0].set(xlabel="", ylabel="% of the first-layer connections", title=f"Categories, mean over {n_seeds} seeds")
for j, view in enumerate(planted):
    d = px_auc[px_auc.view == view]
    for i, name in enumerate(SCORES):
        x = i + 0.2 * (2 * j - 1)
        axes[1].scatter([x] * len(d), d[name], color=colours[name], alpha=0.5, s=14, marker="o" if view == "fixed" else "s")
        axes[1].errorbar(x, d[name].mean(), yerr=d[name].std() if len(d) > 1 else 0, color=colours[name], capsize=3,
                         marker="o" if view == "fixed" else "s", mfc="white" if view == "fixed" else colours[name])
axes[1].axhline(0.5, color="k", lw=0.8, ls=":")
axes[1].set_xticks(range(len(SCORES)), list(SCORES), rotation=15)
axes[1].set(ylim=(0, 1.02), ylabel="AUROC: needed above unneeded",
            title="How each score finds the planted pixels (open: fixed, filled: redrawn)")
fig.suptitle(f"Planted pixels: {noise_pixels} noise pixels appended to every MNIST image")
fig.tight_layout()
mf.nb.save_figure(fig, "08a_planted_pixels")

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
tm = teach.groupby("M").agg(["mean", "std"])
for name in SCORES:
    axes[0].errorbar(tm.index, tm[(name, "mean")], yerr=tm[(name, "std")].fillna(0), color=colours[name], marker="o", capsize=3, label=name)
axes[0].axhline(0.5, color="k", lw=0.8, ls=":")
axes[0].set(ylim=(0, 1.02), ylabel="AUROC: needed above unneeded", title="How each score finds the unread inputs")
for key, colour in (("precision", "C0"), ("recall", "C1")):
    axes[1].errorbar(tm.index, tm[(key, "mean")], yerr=tm[(key, "std")].fillna(0), color=colour, marker="o", capsize=3, label=key)
axes[1].set(ylim=(-0.02, 1.02), title='"every connection from the input is a UIP"')
for key, colour in (("gBP test error (%)", "C0"), ("BP test error (%)", "C3")):
    axes[2].errorbar(tm.index, tm[(key, "mean")], yerr=tm[(key, "std")].fillna(0), color=colour, marker="o", capsize=3, label=key)
axes[2].set(ylabel="test error (%)", title="How well the students learn")
for ax in axes:
    ax.set_xscale("log")
    ax.set_xticks(teacher_sizes, [f"{M:,}" for M in teacher_sizes])
    ax.minorticks_off()
    ax.set_xlabel("training examples M")
    ax.legend(fontsize=8)
fig.suptitle(f"A planted teacher reading 100 of 200 Gaussian inputs; students 200-100-100-10, {n_seeds} seeds (mean ± sd)")
fig.tight_layout()
mf.nb.save_figure(fig, "08b_planted_teacher")

# %% [markdown]
# ## The primary comparison
#
# The paper's credit $1-\pi$ against the standard network's $|w|$, seed by seed: the AUROC difference
# (credit minus magnitude), its standard error and the two-sided paired t-test, with the rule stated
# at the top.

# %%
def primary(d, label):
    t = mf.stats.paired(d["credit 1 - pi"], d["BP |w|"], "two-sided")
    verdict = ("the credit is the better detector" if t["mean"] > 0 and t["p"] < 0.05 else
               "the credit is the worse detector" if t["mean"] < 0 and t["p"] < 0.05 else "no difference detected")
    return {"where": label, "credit 1 - pi": d["credit 1 - pi"].mean(), "BP |w|": d["BP |w|"].mean(),
            "difference": t["mean"], "se": t["se"], "p": t["p"], "verdict": verdict, "paired": t}


prim = [primary(px_auc[px_auc.view == v], f"planted pixels, {v}") for v in planted]
prim.append(primary(teach[teach.M == max(teacher_sizes)], f"teacher, M = {max(teacher_sizes):,}"))
pd.DataFrame(prim).drop(columns="paired").set_index("where").round(4)

# %% tags=["hide-input"] jupyter={"source_hidden": true}
saved = mf.nb.save_results("planted", {
    "seeds": seeds, "noise_pixels": noise_pixels, "teacher_sizes": teacher_sizes, "scores": SCORES,
    "teacher": {"inputs": mf.planted.TEACHER_INPUTS, "used": mf.planted.TEACHER_USED, "hidden": mf.planted.TEACHER_HIDDEN},
    "pixels": {"auroc": px_auc.to_dict("records"), "categories": px_cat.to_dict("records"), "errors": err.to_dict("records")},
    "teacher_runs": teach.to_dict("records"),
    "primary": {p["where"]: {k: v for k, v in p.items() if k != "where"} for p in prim},
})
md = [mf.nb.table_row(  # a | inside a cell (|w|) is escaped
    f"5. planted pixels ({noise_pixels} noise pixels per MNIST image; primary: redrawn)",
    f"AUROC, needed above unneeded connections, {n_seeds} seeds", "; ".join(
        f"{v}: credit 1 - pi {px_auc[px_auc.view == v]['credit 1 - pi'].mean():.3f}, BP |w| {px_auc[px_auc.view == v]['BP |w|'].mean():.3f}, "
        f"rms {px_auc[px_auc.view == v]['credit rms'].mean():.3f}, |mean| {px_auc[px_auc.view == v]['gBP |mean| |(1 - pi) m|'].mean():.3f}"
        for v in planted) + f" ({prim[1]['verdict']}: difference {mf.stats.plus_minus(prim[1]['difference'], prim[1]['se'])})")]
md += [mf.nb.table_row(
    f"6. planted teacher (reads 100 of 200 inputs; primary: M = {max(teacher_sizes):,})", "AUROC; precision / recall of "
    "\"all connections UIPs\"", "; ".join(f"M = {M:,}: credit 1 - pi {g['credit 1 - pi'].mean():.3f}, BP |w| {g['BP |w|'].mean():.3f}, "
                                          f"precision {g['precision'].mean():.2f}, recall {g['recall'].mean():.2f}"
                                          for M, g in teach.groupby("M")) + f" ({prim[2]['verdict']})")]
mf.utils.atomic_write_bytes(mf.nb.out_dir("results") / "planted.md", ("\n".join(md) + "\n").encode())
print("wrote", saved.relative_to(mf.nb.ROOT), "and results/planted.md")

# %% tags=["hide-input"] jupyter={"source_hidden": true}
def change_words(t):
    return (f"{mf.stats.plus_minus(t['mean'], t['se'])} (p = {t['p']:.2g}, "
            + ("a real rise" if t["mean"] > 0 and t["p"] < 0.05 else "a real fall" if t["mean"] < 0 and t["p"] < 0.05
               else "no change detected") + ")")


# %% tags=["hide-input"] jupyter={"source_hidden": true}
pc = px_cat.groupby(["view", "inputs"])[["UIP", "VIP", "mean pi"]].mean()
t_small, t_large = (teach[teach.M == M].mean(numeric_only=True) for M in (min(teacher_sizes), max(teacher_sizes)))
by_seed = {M: teach[teach.M == M].set_index("seed") for M in (min(teacher_sizes), max(teacher_sizes))}
grow = {name: mf.stats.paired(by_seed[max(teacher_sizes)][name], by_seed[min(teacher_sizes)][name], "two-sided")
        for name in ("credit 1 - pi", "BP |w|")}  # the change of each AUROC with M, paired by seed
called_large = t_large["inputs called unused"]
above_chance = all(q["credit 1 - pi"] > 0.5 for q in prim[1:])  # the primary views: redrawn pixels, teacher
uip_less = pc.loc[("redrawn", "planted pixels"), "UIP"] < pc.loc[("redrawn", "live real pixels"), "UIP"]
answer = {("no difference detected", "the credit is the worse detector"): "no better than a standard network's |w| on the redrawn "
          "planted pixels (the primary view), and worse on the teacher",
          ("the credit is the better detector", "the credit is the better detector"): "better than a standard network's |w| on both"}.get(
    (prim[1]["verdict"], prim[2]["verdict"]), f"{prim[1]['verdict']} on the redrawn planted pixels, {prim[2]['verdict']} on the teacher")
answer += (f"; on the pixels fixed per image, which a network can memorise (not a primary comparison), {prim[0]['verdict']} "
           f"(difference {mf.stats.plus_minus(prim[0]['difference'], prim[0]['se'])}, p = {prim[0]['p']:.2g})")
sub = err.pivot(index="seed", columns="images", values="gBP, one sampled sub-network")  # seeds x images
cost = {v: mf.stats.paired(sub[f"planted pixels, {v}"], sub["plain MNIST"], "two-sided") for v in planted}  # by seed


def auc(view, name):
    return px_auc[px_auc.view == view][name].mean()

# %% [markdown]
# ## What we learned

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.show_markdown(f"""
- **Planted pixels.** With the planted pixels redrawn at every epoch, {pc.loc[('redrawn', 'planted pixels'), 'UIP']:.2f} % of their
  connections end as UIPs (live real pixels: {pc.loc[('redrawn', 'live real pixels'), 'UIP']:.2f} %) and their mean $\\pi$ is
  {pc.loc[('redrawn', 'planted pixels'), 'mean pi']:.3f} (real: {pc.loc[('redrawn', 'live real pixels'), 'mean pi']:.3f}); fixed per image,
  {pc.loc[('fixed', 'planted pixels'), 'UIP']:.2f} % and {pc.loc[('fixed', 'planted pixels'), 'mean pi']:.3f}
  (real: {pc.loc[('fixed', 'live real pixels'), 'UIP']:.2f} %). {'So the pixels that carry nothing are UIPs *less* often than real ones: exact absence does not mark them.' if uip_less else ''} The credit $1-\\pi$ finds
  them with an AUROC of {auc('redrawn', 'credit 1 - pi'):.3f} (redrawn) and {auc('fixed', 'credit 1 - pi'):.3f} (fixed); the standard
  network's $|w|$ with {auc('redrawn', 'BP |w|'):.3f} and {auc('fixed', 'BP |w|'):.3f}; the ensemble's $|(1-\\pi)m|$ with
  {auc('redrawn', 'gBP |mean| |(1 - pi) m|'):.3f} and {auc('fixed', 'gBP |mean| |(1 - pi) m|'):.3f}.
  **Primary comparison (redrawn): {prim[1]['verdict']}** (AUROC difference {mf.stats.plus_minus(prim[1]['difference'], prim[1]['se'])},
  p = {prim[1]['p']:.2g}). The planted pixels change the sampled sub-network's test error by
  {mf.stats.plus_minus(cost['redrawn']['mean'], cost['redrawn']['se'], 2)} points (redrawn; paired by seed, two-sided p = {cost['redrawn']['p']:.2g})
  and {mf.stats.plus_minus(cost['fixed']['mean'], cost['fixed']['se'], 2)} points (fixed; p = {cost['fixed']['p']:.2g}). In these
  three bullets a ± after a difference is the standard error of the paired difference over seeds.
- **Planted teacher.** At $M$ = {max(teacher_sizes):,} the credit $1-\\pi$ finds the unread inputs' connections with an AUROC of
  {t_large['credit 1 - pi']:.3f}, BP's $|w|$ with {t_large['BP |w|']:.3f}: **{prim[2]['verdict']}** (difference
  {mf.stats.plus_minus(prim[2]['difference'], prim[2]['se'])}, p = {prim[2]['p']:.2g}). Calling an input unused when all its connections are
  UIPs calls {called_large:.1f} inputs unused on average at $M$ = {max(teacher_sizes):,} (precision {t_large['precision']:.2f}, recall
  {t_large['recall']:.2f}{': no input is ever called unused, so both are 0 by convention' if called_large == 0 else ''}). From
  $M$ = {min(teacher_sizes):,} to {max(teacher_sizes):,}, seed by seed, the credit's AUROC changes by {change_words(grow['credit 1 - pi'])},
  BP's $|w|$ by {change_words(grow['BP |w|'])}.
- **The answer.** Where the truth is known, the credit $1-\\pi$ tells needed from unneeded connections {'better than chance' if above_chance else 'not always better than chance'}, but
  {answer}. With {n_seeds} seeds, "no difference detected" does not mean equal: the paired difference's standard error is given
  above. Notebook 9 turns these primary comparisons, with notebook 7's pruning, into the verdict on the paper's central claim.
""")

# %% [markdown]
# ## Try it
#
# 1. **Where do the planted pixels' connections end?** For the redrawn view of seed 0, print the
#    distribution of $\pi$ of the planted pixels' connections against the live real pixels' (quantiles).
#    *Expect:* the planted ones pushed towards larger $\pi$, without all of them reaching 1.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("08-planted", 1, globals())

# %% [markdown]
# 2. **Inputs, not connections.** Score each input of the teacher problem by the mean of $1-\pi$ over
#    its 100 connections (seed 0, largest $M$), and count how many of the 100 lowest-scored inputs
#    the teacher ignores. *Expect:* more than the 50 that chance would give.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("08-planted", 2, globals())

# %%
mf.nb.versions()
