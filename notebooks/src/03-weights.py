# %% [markdown]
# # 3. Weight classification: very important, unimportant and variable connections
#
# **The question.** After training, what has the ensemble decided about each connection? The paper
# claims that the connections split into three kinds: **VIPs** (very important: $\pi = 0$ and
# $\Xi = 0$, always present with one value), **UIPs** (unimportant: $\pi = 1$, always absent, so
# they can be pruned) and **variable** ones (everything else), and that many parameters sit
# *exactly* on these boundaries.
#
# **Why it matters.** This is the "credit assignment" of the title: a label for every connection,
# learned together with the task. Notebook 1 (section 6) explains why exact boundary values appear
# at all (Adam's steps and the projection); here we count them, see where they sit on the input, and
# measure how much the counts depend on details of the optimiser by comparing the paper recipe with
# the authors' 2022 variant.
#
# **What we do.** Count the categories per layer over several seeds, exactly and with a tolerance,
# both over all connections and over the connections from *live* inputs only (pixels that are
# blank in every training image give their connections no gradient, so those connections say
# nothing about the task); then ask what "absent" should mean, since $\pi = 0.97$ is absent from 97 %
# of the sub-networks without being a UIP.
#
# *Paper figure:* Fig. 2, parameter distributions and category fractions, **reconstructed**.
# Symbols: [glossary](../docs/glossary.md).

# %% tags=["parameters"]
quick: bool = False
n_seeds: int = 5
epochs: int = 200
n_train: int = 10_000
batch_size: int = 500
tol: float = 1e-6          # tolerance of the relaxed categories (see below)
variant_epochs: int = 100  # the 2022 variant's length
n_networks: int = 100      # sampled sub-networks per seed, to measure the fraction absent

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

mf.nb.setup(globals())
seeds = list(range(n_seeds))
data = mf.load_dataset("mnist", n_train=n_train)
paper_cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)
variant_cfg = mf.recipe_2022(epochs=variant_epochs, n_train=n_train, batch_size=batch_size,
                             eval_every=variant_epochs)  # no learning curve is plotted: test at the end only
trained = mf.sweep([(cfg, s) for cfg in (paper_cfg, variant_cfg) for s in seeds])
runs = {"paper 2020": trained[:n_seeds], "2022 variant": trained[n_seeds:]}
layers = [f"layer {l + 1} ({a}→{b})" for l, (a, b) in enumerate(zip(paper_cfg.widths[:-1], paper_cfg.widths[1:]))]
dead = mf.dead_inputs(data.x_train)  # (784,): pixels that are 0 in every training image
live = mf.live_connections(trained[0].params, dead)  # the connections that count in the "live" view
views = {"all": None, "live inputs": live}

# %% [markdown]
# ## Distributions of $\pi$, $m$ and $\Xi$ (paper recipe, all seeds pooled)
#
# Counts on a log scale, so that the spikes at the boundaries and the broad bulk are both visible.

# %%
fig, axes = plt.subplots(3, len(layers), figsize=(12, 8))
symbols = {"pi": r"$\pi$ (probability absent)", "m": r"$m$ (slab mean)", "xi": r"$\Xi$ (slab variance)"}
for r, key in enumerate(("pi", "m", "xi")):
    for l in range(len(layers)):
        v = torch.cat([run.params[key][l].flatten() for run in runs["paper 2020"]]).numpy()
        ax = axes[r, l]
        ax.hist(v, bins=100, color=f"C{r}", log=True)
        ax.set_xlabel(symbols[key])
        ax.set_ylabel("connections (log scale)")
        if r == 0:
            ax.set_title(layers[l])
fig.suptitle(f"Trained parameters, paper recipe, {n_seeds} seeds pooled (cf. paper Fig. 2, reconstructed)")
fig.tight_layout()
mf.nb.save_figure(fig, "03a_parameter_histograms_paper-fig2")

# %% [markdown]
# ## Dead inputs
#
# Every gBP gradient of a first-layer connection carries the input value as a factor (notebook 1),
# so a pixel that is 0 in every training image sends no gradient to its 100 connections: they keep
# their initial $\pi = 0$ and the initial $\Xi$ (shrunk only by the weight decay), and stay
# "variable" whatever the task. Below, the **live** view leaves them out; the **all** view counts
# every connection, as the analysis code the authors published with the paper does.

# %%
steps = -(-n_train // batch_size)  # per epoch
shrink = np.prod([(1 - mf.training.lr_at(paper_cfg, e) * paper_cfg.weight_decay) ** steps for e in range(epochs)])
mf.nb.check(all((r.params["pi"][0][:, dead] == 0).all() for r in runs["paper 2020"]),
            "the connections from blank pixels keep their initial pi = 0")
print(f"{int(dead.sum())} of {len(dead)} input pixels are 0 in all {n_train:,} training images: "
      f"{int(dead.sum()) * paper_cfg.widths[1]:,} of the {live[0].numel():,} first-layer connections are dead. Over a run "
      f"the decay alone shrinks their m and Xi by {100 * (1 - shrink):.2f} %; their pi stays exactly 0.")

# %% [markdown]
# ## Category fractions per layer
#
# Exact (equalities, as the analysis code the authors published with the paper counts them), in
# percent of the layer's connections (all, or from live inputs only), mean over seeds; beyond the
# first layer both views are the same. The same counts with the tolerance $\tau$ (`tol` in the code: $\pi < \tau$ counts
# as 0, $\pi > 1 - \tau$ as 1, $\Xi < \tau$ as 0) are the subject of exercise 1 below.

# %%
def fractions(recipe, tolerance, view):
    return [{"recipe": recipe, "view": view, "tol": tolerance, "layer": l + 1, "seed": run.seed, **row}
            for run in runs[recipe]
            for l, row in enumerate(mf.category_fractions(run.params, tolerance, include=views[view]))]


frac = pd.DataFrame([r for recipe in runs for v in views for t in (0.0, tol) for r in fractions(recipe, t, v)])
cols = ["VIP", "UIP", "variable", "pi==0", "pi==1", "xi==0"]
summary = (100 * frac.groupby(["recipe", "view", "tol", "layer"])[cols].agg(["mean", "std"])).round(2)
WORDS = {"pi==0": "π = 0", "pi==1": "π = 1", "xi==0": "Ξ = 0"}
shown = summary.xs(0.0, level="tol").xs("mean", axis=1, level=1).rename(columns=WORDS)  # exact; sds: results/weights.json
shown.columns = [f"{c} (%)" for c in shown.columns]
shown

# %%
exact = frac[frac.tol == 0.0]
bars = exact[(exact.view == "all") | (exact.layer == 1)].assign(
    group=lambda d: np.where(d.layer == 1, "1, " + d.view, d.layer.astype(str)))
fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
for ax, cat in zip(axes, ("VIP", "UIP", "variable")):
    g = 100 * bars.groupby(["group", "recipe"])[cat].agg(["mean", "std"]).unstack("recipe")
    g["mean"].plot.bar(yerr=g["std"].fillna(0), ax=ax, capsize=3, rot=0, color=["C1", "C0"])
    ax.set_title(f"{cat} (exact)")
    ax.set_xlabel("weight layer (layer 1: all inputs, live inputs)")
    ax.set_ylabel("% of the layer's connections")
    ax.legend(fontsize=8) if cat == "VIP" else ax.get_legend().remove()
fig.suptitle("Category fractions, mean ± sd over seeds (cf. paper Fig. 2, reconstructed)")
fig.tight_layout()
mf.nb.save_figure(fig, "03b_category_fractions_paper-fig2")

# %% [markdown]
# ## Where $\pi$ starts
#
# The recipe starts every $\pi$ at exactly 0. So "$\pi = 0$ at the end" lumps together connections
# whose $\pi$ never left 0 and connections that were pushed away from 0 and came back. Every run
# records the largest $\pi$ each connection reached after any step (`run.pi_max`). Per layer, among
# the connections from live inputs: the share whose $\pi$ never moved; of those with $\pi = 0$ at the
# end, the share that never moved; and, among the connections that did move, the fractions with
# $\pi = 0$, $\pi = 1$ and $\Xi = 0$ at the end (their polarisation). Mean ± sd over seeds, in percent.

# %%
moved = pd.DataFrame([{"recipe": recipe, "seed": run.seed, "layer": l + 1, **row}
                      for recipe, rs in runs.items() for run in rs
                      for l, row in enumerate(mf.connections.moved_fractions(run.params, run.pi_max, include=live))])
moved_cols = ["never_moved", "pi0_never_moved", "moved_pi==0", "moved_pi==1", "moved_xi==0"]
moved_summary = (100 * moved.groupby(["recipe", "layer"])[moved_cols].agg(["mean", "std"])).round(2)
moved_summary.rename(columns={"never_moved": "π never moved", "pi0_never_moved": "of π = 0: never moved",
                              "moved_pi==0": "moved: π = 0", "moved_pi==1": "moved: π = 1", "moved_xi==0": "moved: Ξ = 0"})

# %% [markdown]
# ## What "absent" means
#
# A UIP is absent from *every* sub-network ($\pi = 1$ exactly). A connection with $\pi = 0.97$ is
# absent from 97 % of them. Three readings, per layer: the fraction of connections with
# $\pi > 1 - \tau$ as $\tau$ (the tolerance of the thresholded categories) grows from $10^{-6}$ (nearly the exact count) to 0.5 (absent more
# often than present); the mean of $\pi$, which is the expected fraction of connections absent from
# one sampled sub-network; and that fraction measured on `n_networks` sampled sub-networks per seed.

# %%
deltas = np.logspace(-6, np.log10(0.5), 25)
absent = pd.DataFrame([
    {"recipe": recipe, "view": view, "seed": run.seed, "layer": l + 1, **row}
    for recipe, rs in runs.items() for view, inc in views.items() for run in rs
    for l, row in enumerate(mf.absence(run.params, deltas, n_networks, mf.generator(500 + run.seed), include=inc))])
absent["pi>0.5"] = absent["above"].str[-1]
readings = ["exact", "pi>0.5", "mean_pi", "sampled"]
absent_summary = (100 * absent.groupby(["recipe", "view", "layer"])[readings].agg(["mean", "std"])).round(2)
absent_summary.xs("mean", axis=1, level=1).rename(columns={
    "exact": "π = 1 (UIP, %)", "pi>0.5": "π > 0.5 (%)", "mean_pi": "mean π (%)", "sampled": "absent from a sampled sub-network (%)"})

# %%
fig, axes = plt.subplots(1, len(runs), figsize=(12, 4.2), sharey=True)
for ax, recipe in zip(axes, runs):
    for (view, l), g in absent[absent.recipe == recipe].groupby(["view", "layer"]):
        if view == "all" or l == 1:
            curve = 100 * np.stack(g["above"].to_numpy())  # (seeds, deltas)
            sd = curve.std(0, ddof=1) if len(curve) > 1 else 0 * curve[0]
            line, = ax.plot(deltas, curve.mean(0), ls="--" if view != "all" else "-",
                            color=f"C{l - 1}", label=f"layer {l}" + (f", {view}" if l == 1 else ""))
            ax.fill_between(deltas, curve.mean(0) - sd, curve.mean(0) + sd, color=line.get_color(), alpha=0.2)
    ax.set(xscale="log", xlabel=r"$\tau$ (a connection counts as absent when $\pi > 1 - \tau$)",
           title=f"{recipe} recipe")
    ax.legend(fontsize=8)
axes[0].set_ylabel(r"% of the layer's connections with $\pi > 1 - \tau$")
fig.suptitle(f"How many connections are absent, by threshold: mean ± sd over {n_seeds} seeds")
fig.tight_layout()
mf.nb.save_figure(fig, "03d_absent_fraction_by_threshold")

# %% [markdown]
# ## Where the categories sit on the input (first layer)
#
# Each hidden unit has one connection per pixel. Top row: over all hidden units and seeds, the mean
# $\pi$ per pixel and the fraction of each category per pixel. Bottom row: $\pi$ of four hidden
# units of seed 0.

# %%
pi1 = torch.stack([run.params["pi"][0] for run in runs["paper 2020"]])  # (seeds, 100, 784)
xi1 = torch.stack([run.params["xi"][0] for run in runs["paper 2020"]])
cat1 = mf.categories(pi1, xi1)
maps = {"mean $\\pi$": pi1.mean((0, 1)), "VIP fraction": (cat1 == 0).float().mean((0, 1)),
        "UIP fraction": (cat1 == 1).float().mean((0, 1)), "variable fraction": (cat1 == 2).float().mean((0, 1))}
fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
for ax, (name, img) in zip(axes[0], maps.items()):
    fig.colorbar(ax.imshow(img.reshape(28, 28).numpy(), cmap="viridis"), ax=ax, fraction=0.046)
    ax.set_title(name)
for ax, unit in zip(axes[1], (0, 1, 2, 3)):
    fig.colorbar(ax.imshow(pi1[0, unit].reshape(28, 28).numpy(), cmap="magma", vmin=0, vmax=1), ax=ax, fraction=0.046)
    ax.set_title(f"$\\pi$ of hidden unit {unit} (seed 0)")
for ax in axes.flat:
    ax.set(xticks=[], yticks=[], xlabel="pixel column", ylabel="pixel row")
fig.suptitle("First-layer connections on the 28×28 input (paper recipe)")
fig.tight_layout()
mf.nb.save_figure(fig, "03c_first_layer_maps")

# %% [markdown]
# The blank border is where the dead inputs sit (see above): their connections are all variable.

# %%
print(f"first-layer connections from the {int(dead.sum())} dead pixels are "
      f"{100 * (cat1[..., dead] == 2).float().mean():.1f} % variable, against "
      f"{100 * (cat1[..., ~dead] == 2).float().mean():.1f} % for the other pixels.")

# %% [markdown]
# ### Browse the hidden units
#
# All three parameters and the category of every first-layer connection of one hidden unit. The
# drawing below is unit 0 of seed 0; with a running kernel, the slider under it picks any unit.

# %%
def show_unit(unit=0, seed=0):
    p = {k: runs["paper 2020"][seed].params[k][0][unit].reshape(28, 28) for k in ("pi", "m", "xi")}
    cat = mf.categories(p["pi"], p["xi"])
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    for ax, (k, img, cmap) in zip(axes, (("pi", p["pi"], "magma"), ("m", p["m"], "coolwarm"),
                                         ("Xi", p["xi"], "viridis"), ("category", cat, plt.get_cmap("Set2", 3)))):
        im = ax.imshow(img.numpy(), cmap=cmap, **({"vmin": -0.5, "vmax": 2.5} if k == "category" else {}))
        cb = fig.colorbar(im, ax=ax, fraction=0.046)
        if k == "category":
            cb.set_ticks([0, 1, 2], labels=["VIP", "UIP", "variable"])
        ax.set(title=f"{k}, unit {unit}, seed {seed}", xticks=[], yticks=[])
    plt.show()


show_unit()

# %%
from ipywidgets import IntSlider, interact

interact(show_unit, unit=IntSlider(0, 0, paper_cfg.widths[1] - 1), seed=IntSlider(0, 0, n_seeds - 1));

# %% [markdown]
# ## How much the recipe matters: 2022 variant vs paper recipe
#
# The 2022 variant keeps Adam's state, does not halve the learning rate, decays $\pi$ too, and trains
# 100 epochs. Same data, same seeds.

# %%
ex = exact[exact.view == "all"].groupby(["recipe", "layer"])[["VIP", "UIP", "variable", "pi==1", "xi==0"]].mean().mul(100)
change = (ex.loc["2022 variant"] - ex.loc["paper 2020"]).round(2)
errors = pd.DataFrame({recipe: {m: mf.stats.mean_sd([r.final(m) for r in rs])[0] for m in ("sampled", "mf_noisy", "mf_mean")}
                       for recipe, rs in runs.items()}).round(2)
print("category fractions, 2022 variant minus paper recipe (percentage points):")
display(change.rename(columns={**WORDS, "VIP": "VIP", "UIP": "UIP"}))
print("final test error (%), mean over seeds:")
errors.rename(index={"sampled": "one sampled sub-network", "mf_noisy": "noisy mean field", "mf_mean": "eps = 0 mean field"})

# %% tags=["hide-input"] jupyter={"source_hidden": true}
def fraction_dict(recipe, view, t):
    return {f"layer{l}": {c: {"mean": float(summary.loc[(recipe, view, t, l), (c, "mean")]),
                              "sd": float(summary.loc[(recipe, view, t, l), (c, "std")])} for c in cols}
            for l in range(1, len(layers) + 1)}


def absence_dict(recipe, view):
    out = {}
    for l, g in absent[(absent.recipe == recipe) & (absent.view == view)].groupby("layer"):
        curve = 100 * np.stack(g["above"].to_numpy())
        out[f"layer{l}"] = {**{r: {"mean": float(absent_summary.loc[(recipe, view, l), (r, "mean")]),
                                   "sd": float(absent_summary.loc[(recipe, view, l), (r, "std")])} for r in readings},
                            "survival": {"delta": deltas.tolist(), "mean": curve.mean(0).tolist()}}
    return out


# %% tags=["hide-input"] jupyter={"source_hidden": true}
saved = mf.nb.save_results("weights", {
    "tol": tol, "dead_inputs": int(dead.sum()), "n_networks": n_networks,
    "fractions": {f"{recipe}|tol={t}": fraction_dict(recipe, "all", t) for recipe in runs for t in (0.0, tol)},
    "fractions_live": {f"{recipe}|tol={t}": fraction_dict(recipe, "live inputs", t) for recipe in runs for t in (0.0, tol)},
    "absence": {f"{recipe}|{view}": absence_dict(recipe, view) for recipe in runs for view in views},
    "variant_minus_paper": change.to_dict(orient="index"),
    "errors": errors.to_dict(),
    "moved": {recipe: {f"layer{l}": {c: {"mean": float(100 * g[c].mean()), "sd": float(100 * g[c].std()),
                                         "per_seed": (100 * g[c]).tolist()} for c in moved_cols + ["moved_n"]}
                       for l, g in moved[moved.recipe == recipe].groupby("layer")} for recipe in runs},
    "fractions_live_per_seed": {recipe: {f"layer{l}": {c: (100 * g[c]).tolist() for c in cols}
                                         for l, g in exact[(exact.recipe == recipe) & (exact.view == "live inputs")].groupby("layer")}
                                for recipe in runs},
})
print("wrote", saved.relative_to(mf.nb.ROOT))

# %% tags=["hide-input"] jupyter={"source_hidden": true}
pe, ve = ex.loc["paper 2020"], ex.loc["2022 variant"]
l1 = {v: 100 * exact[(exact.recipe == "paper 2020") & (exact.view == v) & (exact.layer == 1)][cols].mean()
      for v in views}
ab = absent_summary.loc[("paper 2020", "live inputs")].xs("mean", axis=1, level=1)
mv = moved_summary.loc["paper 2020"].xs("mean", axis=1, level=1)
# %% [markdown]
# ## What we learned

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.show_markdown(f"""
- Under the paper recipe all three kinds exist in every layer, but **variable connections dominate**: per layer
  (1 to {len(pe)}) {', '.join(f'{x:.1f}' for x in pe['variable'])} %, against VIPs {', '.join(f'{x:.2f}' for x in pe['VIP'])} %
  and UIPs {', '.join(f'{x:.2f}' for x in pe['UIP'])} % (exact, all connections, mean over {n_seeds} seeds).
- {int(dead.sum())} input pixels are blank in every training image. Leaving their connections out changes the
  first layer from VIP {l1['all']['VIP']:.2f} %, UIP {l1['all']['UIP']:.2f} %, variable {l1['all']['variable']:.1f} %,
  $\\pi = 0$ {l1['all']['pi==0']:.1f} % (all) to VIP {l1['live inputs']['VIP']:.2f} %, UIP {l1['live inputs']['UIP']:.2f} %,
  variable {l1['live inputs']['variable']:.1f} %, $\\pi = 0$ {l1['live inputs']['pi==0']:.1f} % (live inputs).
- Exact boundary values are common: $\\Xi = 0$ for {pe['xi==0'].min():.1f}–{pe['xi==0'].max():.1f} % of the
  connections per layer.
- Where $\\pi$ starts matters: of the live connections with $\\pi = 0$ at the end, {mv['pi0_never_moved'].min():.1f}–{mv['pi0_never_moved'].max():.1f} %
  per layer never moved from their starting 0. Among the connections that did move, {mv['moved_pi==0'].min():.1f}–{mv['moved_pi==0'].max():.1f} %
  end at $\\pi = 0$ and {mv['moved_pi==1'].min():.2f}–{mv['moved_pi==1'].max():.2f} % at $\\pi = 1$.
- "Absent" depends on the reading (paper recipe, live inputs): exactly absent (UIP)
  {ab['exact'].min():.2f}–{ab['exact'].max():.2f} % per layer; absent more often than present ($\\pi > 0.5$)
  {ab['pi>0.5'].min():.2f}–{ab['pi>0.5'].max():.2f} %; absent from a sampled sub-network on average
  (mean $\\pi$) {ab['mean_pi'].min():.1f}–{ab['mean_pi'].max():.1f} %, measured {ab['sampled'].min():.1f}–{ab['sampled'].max():.1f} %
  on {n_networks} sampled sub-networks per seed.
- The counts depend on the recipe: per layer (1 to {len(ve)}), the 2022 variant gives UIPs
  {', '.join(f'{x:.2f}' for x in ve['UIP'])} % against {', '.join(f'{x:.2f}' for x in pe['UIP'])} % for the paper
  recipe, and VIPs {', '.join(f'{x:.2f}' for x in ve['VIP'])} % against {', '.join(f'{x:.2f}' for x in pe['VIP'])} %,
  with test errors (sampled network) {errors.loc['sampled', '2022 variant']:.2f} % vs {errors.loc['sampled', 'paper 2020']:.2f} %.
  The two recipes differ in four details at once, training length included, so this comparison alone cannot say
  which detail is responsible: notebook 6 switches them one at a time.
""")

# %% [markdown]
# ## Try it
#
# 1. **How robust are the exact counts?** Print the first layer's VIP and UIP fractions of seed 0 for
#    tolerances 0, 1e-6, 1e-3 and 1e-1. *Expect:* the UIPs hardly change until the loosest tolerance;
#    the VIPs grow as more near-zero $\Xi$ count.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("03-weights", 1, globals())

# %% [markdown]
# 2. **Which hidden unit has the most VIPs?** Find the hidden unit of seed 0 with the most first-layer
#    VIPs, and where on the image they sit. *Expect:* VIPs on the strokes' region, none on the
#    blank border (those connections get no gradient). `show_unit(unit)` draws any unit.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("03-weights", 2, globals())

# %% [markdown]
# 3. **Are VIPs the connections with large weights?** Compare the median $|m|$ of the VIPs and of the
#    variable connections from live inputs in the first layer of seed 0. *Expect:* VIPs have $\Xi = 0$
#    and a weight the network relies on, so a larger median $|m|$ than the variable connections.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("03-weights", 3, globals())

# %%
mf.nb.versions()
