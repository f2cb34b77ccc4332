# %% [markdown]
# # 4. The ensemble: sampled sub-networks and target weight perturbation
#
# **The question.** Is the trained distribution really an ensemble of *different* networks that all
# solve the task, and do the categories of notebook 3 mean what their names say? The paper claims
# that sampled sub-networks all work, that removing very important connections (VIPs) hurts far
# more than removing as many variable ones, and that switching on unimportant ones (UIPs) hurts little.
#
# **Why it matters.** A label "important" is only worth something if acting on it has the predicted
# effect. This is the experimental test of the credit assignment.
#
# **What we do.** For each seed we sample many sub-networks and measure their test errors, how much
# wiring two of them share and how often they disagree. Then the target weight perturbation on the
# first weight layer, for a fraction $f$ from 0 to 1, among the connections from *live* inputs (a
# pixel that is blank in every training image gives its connections no gradient, and removing
# them changes nothing on the training set and little on the test set, printed below):
#
# 1. **remove VIPs**: $k = \mathrm{int}(f\cdot N_\mathrm{VIP})$ VIPs get $\pi = 1$; mean error of `n_perturb` sampled networks;
# 2. **matched control**: for each of those $k$ VIPs, the variable connection nearest to it in
#    magnitude $\sqrt{E[w^2]} = \sqrt{(1-\pi)(m^2+\Xi)}$ (without replacement) gets $\pi = 1$
#    instead. It removes as many connections, of the same sizes, so it tells *important* from
#    *large*;
# 3. **random control**: $k$ variable connections picked at random get $\pi = 1$;
# 4. **activate UIPs**: $\mathrm{int}(f\cdot N_\mathrm{UIP})$ UIPs of each sampled network get values
#    at the scale of the layer's trained weights: copies of randomly chosen present weights of the
#    same layer of that network;
# 5. **its control**: as many connections picked at random among the layer's other (non-UIP)
#    connections get new values drawn the same way. If UIPs are truly unimportant, giving them
#    values must hurt less than giving values to connections picked without regard to their category.
#
# Beside them, at $f = 1$, two other readings: the random control drawn from all variable
# connections (dead inputs included), and UIPs set to $\mathcal N(0,1)$ values, the values the
# authors' recipe for this figure gives them (the trained weights' magnitudes are drawn below).
#
# *Paper figure:* Fig. 3, target weight perturbation, **reconstructed**; the sub-network statistics
# test claims of the text. Symbols: [glossary](../docs/glossary.md).

# %% tags=["parameters"]
quick: bool = False
n_seeds: int = 5
epochs: int = 200
n_train: int = 10_000
batch_size: int = 500
n_networks: int = 100   # sampled sub-networks per seed
n_perturb: int = 10     # samples (or repeats) per perturbation point

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

import mfcredit as mf

mf.nb.setup(globals())
seeds = list(range(n_seeds))
data = mf.load_dataset("mnist", n_train=n_train)
cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)
runs = mf.sweep([(cfg, s) for s in seeds])  # the runs of notebook 2, from the cache
dead = mf.dead_inputs(data.x_train)  # (784,): pixels that are 0 in every training image
live = mf.live_connections(runs[0].params, dead)
print(f"{int(dead.sum())} dead input pixels; {100 * (data.x_test[:, dead] != 0).any(1).float().mean():.1f} % of the "
      f"test images have ink on any of them, {100 * (data.x_test[:, dead] != 0).float().mean():.3f} % of their values are non-zero.")

# %% [markdown]
# ## Many sub-networks
#
# For each seed: `n_networks` sub-networks sampled from the trained distribution, evaluated on the
# 10,000 test images, next to the two mean-field errors of the same distribution (the noisy one
# with its sd over 10 draws of the noise; notebook 2's value for the same seed is one more draw, so the
# two differ by about that much). *Shared* is the
# Jaccard index of the sets of present connections of two sub-networks (mean over pairs): how much
# wiring they have in common. *Disagreement* is the fraction of test images on which two
# sub-networks predict different classes (mean over pairs).

# %%
rows, all_errors = [], []
for run in runs:
    res = mf.ensemble_study(run.params, data.x_test, data.y_test, n=n_networks, generator=mf.generator(100 + run.seed))
    noisy = [mf.evaluate(run.network(), data.x_test, data.y_test, mf.generator(200 + run.seed + 1000 * k)) for k in range(10)]
    e = res["errors"].numpy()
    all_errors.append(e)
    rows.append({"seed": run.seed, "sampled mean": e.mean(), "sampled sd": e.std(ddof=1), "sampled min": e.min(),
                 "sampled max": e.max(), "noisy MF": noisy[0]["mf_noisy"], "eps=0 MF": noisy[0]["mf_mean"],
                 "noisy MF sd (10 draws)": np.std([n["mf_noisy"] for n in noisy], ddof=1),
                 "disagreement (%)": 100 * res["disagreement"],
                 **{f"shared, layer {l + 1} (%)": 100 * s for l, s in enumerate(res["shared"])}})
ens = pd.DataFrame(rows).set_index("seed")
ens.round(2)

# %%
long = pd.DataFrame([{"seed": f"seed {s}", "test error (%)": v} for s, e in zip(seeds, all_errors) for v in e])
fig, ax = plt.subplots(figsize=(7.5, 4))
sns.boxplot(long, x="seed", y="test error (%)", color="0.9", showfliers=False, ax=ax)
jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(long))  # fixed: the figure is the same on rerun
ax.scatter(long["seed"].str.slice(5).astype(int) + jitter, long["test error (%)"], s=6, color="C0", alpha=0.6)
ax.scatter(range(n_seeds), ens["eps=0 MF"], marker="_", s=600, color="C3", zorder=3, label="eps = 0 mean field")
ax.scatter(range(n_seeds), ens["noisy MF"], marker="x", s=50, color="C2", zorder=3, label="noisy mean field")
ax.plot([], [], "o", color="C0", ms=3, label=f"{n_networks} sampled sub-networks per seed")
ax.set_xlabel("trained ensemble (paper recipe)")
ax.set_title("Test errors of sampled sub-networks")
ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
fig.tight_layout()
mf.nb.save_figure(fig, "04a_subnetwork_errors")

# %% [markdown]
# ## Target weight perturbation (first layer)

# %%
def perturb(run, **kw):
    return mf.perturbation(run.params, data.x_test, data.y_test, n_samples=n_perturb, **kw)


curves = [perturb(run, include=live, generator=mf.generator(300 + run.seed)) for run in runs]
first = [perturb(run, fractions=[1.0], curves=("random_removal", "uip_activation"), uip_values="normal",
                 generator=mf.generator(400 + run.seed)) for run in runs]  # all connections, N(0, 1) values
fractions = np.array(curves[0]["fractions"])
keys = mf.perturbations.CURVES
counts = pd.DataFrame([c["counts"] for c in curves], index=pd.Index(seeds, name="seed"))
counts["dead-input connections"] = int(dead.sum()) * cfg.widths[1]

over_seeds = mf.stats.over_seeds  # mean and sd over seeds, NaN (a point a seed lacks) left out

pert = {key: over_seeds([[p[0] for p in c[key]] for c in curves]) for key in keys}
unperturbed = over_seeds([c["unperturbed"][0] for c in curves])
first_f1 = {key: over_seeds([c[key][0][0] for c in first]) for key in ("random_removal", "uip_activation")}
short = {s: c["variable_short"] for s, c in zip(seeds, curves) if c["variable_short"]}
print("first-layer connections per category (live inputs) and seed:")
counts

# %%
names = {"vip_removal": ("remove VIPs", "k", "o"), "matched_removal": ("remove as many variable, matched in magnitude", "C1", "D"),
         "random_removal": ("remove as many variable, random", "C0", "s"), "uip_activation": ("activate UIPs (layer-scale values)", "C2", "^"),
         "random_resample": ("as many random non-UIPs get new values (control)", "C4", "v")}
n_vip, n_uip = counts["VIP"].mean(), counts["UIP"].mean()
fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)  # one scale: the effects compare across panels
for ax, group, n, what in ((axes[0], keys[:3], n_vip, "connections removed"), (axes[1], keys[3:], n_uip, "connections given values")):
    for key in group:
        label, colour, marker = names[key]
        ax.errorbar(fractions, pert[key]["mean"], yerr=pert[key]["sd"], color=colour, marker=marker, capsize=3, label=label)
    ax.axhline(unperturbed["mean"], color="k", ls="--", lw=1, label=f"unperturbed: {unperturbed['mean']:.2f} %")
    ax.set(xlabel="fraction f of the targeted category", ylabel="test error (%)")
    top = ax.secondary_xaxis("top", functions=(lambda f, n=n: f * n, lambda k, n=n: k / n))
    top.set_xlabel(f"{what} (mean over seeds; all {'VIPs' if n is n_vip else 'UIPs'}: {n:.0f})")
axes[0].errorbar([1.0], first_f1["random_removal"]["mean"], yerr=first_f1["random_removal"]["sd"], color="0.4",
                 marker="x", ms=9, ls="none", capsize=3, label="random, dead inputs included (all connections)")
axes[1].errorbar([1.0], first_f1["uip_activation"]["mean"], yerr=first_f1["uip_activation"]["sd"], color="0.4",
                 marker="x", ms=9, ls="none", capsize=3, label="activate all UIPs with N(0, 1) values")
axes[0].set_title("Removing connections (live inputs)")
axes[1].set_title("Giving values to unimportant connections, and a control")
for ax in axes:
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.27), ncol=2)
fig.suptitle("Target weight perturbation, first layer (cf. paper Fig. 3, reconstructed)")
fig.tight_layout()
mf.nb.save_figure(fig, "04b_target_perturbation_paper-fig3")
# %%
print("controls impossible (fewer variable connections than VIPs to match) at:", short or "no fraction")
mf.nb.check((counts["VIP"] / counts["variable"]).max() < 0.2,
            "the removal controls take a small share (under a fifth) of the variable connections")

# %% [markdown]
# Error bars: sd over seeds of the per-seed mean over `n_perturb` samples; both panels share one
# error scale. At $f = 1$ curve 1 has removed every first-layer VIP; both removal controls remove the
# same *number* of variable connections, a small share of them, since variable connections are far
# more numerous.
#
# ### How well the matched control is matched
#
# The magnitudes $\sqrt{E[w^2]}$ of the connections removed at $f = 1$, all seeds pooled: the VIPs,
# their matched controls and the random controls. Matched well, the first two distributions coincide.

# %%
mags = {key: np.concatenate([c["magnitudes"][key].numpy() for c in curves]) for key in keys[:3]}
pair = np.concatenate([(c["magnitudes"]["matched_removal"] / c["magnitudes"]["vip_removal"]).numpy() for c in curves])
quantiles = pd.DataFrame({names[k][0]: np.quantile(v, [0.1, 0.5, 0.9]) for k, v in mags.items()},
                         index=["10 %", "median", "90 %"]).T.round(3)
fig, ax = plt.subplots(figsize=(7.5, 4))
every = np.concatenate(list(mags.values()))
bins = np.logspace(np.log10(np.quantile(every[every > 0], 0.001)), np.log10(every.max()), 60)
for key, style in (("vip_removal", dict(histtype="stepfilled", alpha=0.35)), ("matched_removal", dict(histtype="step", ls="--", lw=2)),
                   ("random_removal", dict(histtype="step", lw=1.6))):
    v = np.clip(mags[key], bins[0], None)
    ax.hist(v, bins=bins, color=names[key][1], label=f"{names[key][0]} ({len(v):,})", **style)
ax.set(xscale="log", xlabel=r"magnitude $\sqrt{(1-\pi)(m^2+\Xi)}$ of a removed connection (smallest 0.1 % at the left edge)",
       ylabel="connections",
       title=f"Connections removed at f = 1, first layer, {n_seeds} seeds pooled")
ax.legend(fontsize=8)
fig.tight_layout()
mf.nb.save_figure(fig, "04c_matched_control_magnitudes")
print(f"matched / VIP magnitude, pair by pair: median {np.median(pair):.4f}, 5-95 % range "
      f"{np.quantile(pair, 0.05):.3f}-{np.quantile(pair, 0.95):.3f}")
quantiles

# %% tags=["hide-input"] jupyter={"source_hidden": true}
i1 = len(fractions) - 1
base = unperturbed["mean"]
delta = {k: pert[k]["mean"][i1] - base for k in pert}
delta_first = {k: first_f1[k]["mean"] - base for k in first_f1}
per_seed = {"seed": seeds, "unperturbed": [c["unperturbed"][0] for c in curves],
            "delta_at_f1": {k: [c[k][i1][0] - c["unperturbed"][0] for c in curves] for k in keys},
            "counts": counts[["VIP", "UIP", "variable"]].to_dict(orient="list")}
saved = mf.nb.save_results("ensemble", {
    "subnetworks": ens.reset_index().to_dict(orient="records"),
    "sampled_sd_mean": float(ens["sampled sd"].mean()),
    "perturbation": {"fractions": fractions.tolist(), **pert, "unperturbed": unperturbed, "n_samples": n_perturb,
                     "counts": counts.reset_index().to_dict(orient="records"),
                     "variable_short": {str(k): v for k, v in short.items()}, "dead_inputs": int(dead.sum()),
                     "all_connections_f1": first_f1, "per_seed": per_seed,
                     "matching": {"pair_ratio_median": float(np.median(pair)),
                                  "pair_ratio_5": float(np.quantile(pair, 0.05)), "pair_ratio_95": float(np.quantile(pair, 0.95)),
                                  "median_magnitude": {k: float(np.median(v)) for k, v in mags.items()}}},
    "delta_at_f1": delta, "delta_at_f1_all_connections": delta_first,
})
print("wrote", saved.relative_to(mf.nb.ROOT))

# %% tags=["hide-input"] jupyter={"source_hidden": true}
d = per_seed["delta_at_f1"]
vm = mf.stats.paired(d["vip_removal"], d["matched_removal"])  # seed by seed: VIPs minus their matched control
ur = mf.stats.paired(d["random_resample"], d["uip_activation"])  # the control minus the UIPs
dv, dm = delta["vip_removal"], delta["matched_removal"]
# the rule, fixed before the numbers: the VIPs matter beyond their size when the matched control does less than half
# of their damage and the paired test gives one-sided p < 0.05
beyond = dv > 0 and dm < 0.5 * dv and vm["p"] < 0.05
matched_sentence = ("Removing VIPs does not hurt more than the matched control." if dv <= max(dm, 0) else
                    f"The matched control does {100 * max(dm, 0) / dv:.0f} % of the VIPs' damage: "
                    + ("the VIPs matter beyond their size." if beyond else
                       "much of what the VIPs carry is their size." if dm >= 0.5 * dv else
                       "less than half, but the paired test does not reach p < 0.05."))
med = {k: float(np.median(v)) for k, v in mags.items()}
size_sentence = (f"VIPs are {'larger' if med['vip_removal'] > med['random_removal'] else 'smaller'} than a typical variable "
                 f"connection: median magnitude {med['vip_removal']:.3f} against {med['random_removal']:.3f} for the random "
                 f"control (the matched control: {med['matched_removal']:.3f}).")

# %% [markdown]
# ## What we learned

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.show_markdown(f"""
- Sampled sub-networks all work: over {n_seeds} seeds × {n_networks} sub-networks the errors span
  {ens['sampled min'].min():.2f}–{ens['sampled max'].max():.2f} %, with an sd of {ens['sampled sd'].mean():.2f} points
  within a seed. They are different networks: two of them share
  {ens.filter(like='shared').mean().min():.0f}–{ens.filter(like='shared').mean().max():.0f} % of their present
  connections per layer and disagree on {ens['disagreement (%)'].mean():.1f} % of the test images.
- The rule for the VIPs, fixed before the numbers: they matter beyond their size if the magnitude-matched control
  does less than half of their damage and the paired t-test over seeds gives one-sided p < 0.05. Removing all
  first-layer VIPs ({n_vip:.0f} connections on average) raises the error by
  **{delta['vip_removal']:+.2f} points** (unperturbed: {base:.2f} %). Removing as many variable connections
  of the same magnitude raises it by {delta['matched_removal']:+.2f} points; as many picked at random, by
  {delta['random_removal']:+.2f} points ({delta_first['random_removal']:+.2f} with dead inputs among them).
  Seed by seed, the VIPs' rise exceeds the matched control's by {vm['mean']:+.2f} ± {vm['se']:.2f} points
  (paired t-test over {vm['n']} seeds, one-sided p = {vm['p']:.2g}). {matched_sentence}
  {size_sentence}
- Giving all {n_uip:.0f} UIPs values copied from the layer's present weights raises the error by
  {delta['uip_activation']:+.2f} points; giving as many randomly chosen other connections values drawn the same way,
  by {delta['random_resample']:+.2f} points (control minus UIPs, seed by seed and before rounding: {ur['mean']:+.2f} ±
  {ur['se']:.2f}, one-sided p = {ur['p']:.2g}). With $\\mathcal N(0,1)$ values the UIPs raise it by {delta_first['uip_activation']:+.2f} points.
""")

# %% [markdown]
# ## Try it
#
# 1. **How many sub-networks does a stable mean error need?** Compare the mean error of the first 5,
#    the first 20 and all sub-networks of seed 0. *Expect:* the mean of five is already within a few
#    hundredths of a point of the mean of all, since the sub-networks' errors spread so little.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("04-ensemble", 1, globals())

# %% [markdown]
# 2. **Is the second layer different?** Remove VIPs from the *second* weight layer (`layer=1`) of seed 0,
#    at fractions 0, 0.5 and 1, beside the matched control. *Expect:* fewer VIPs than in the first
#    layer, and a smaller rise.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("04-ensemble", 2, globals())

# %% [markdown]
# 3. **A sub-network is an ordinary network.** Draw one (an `nn.Sequential`) and measure its error
#    yourself, with plain torch. *Expect:* an error inside the spread of the box plot above.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("04-ensemble", 3, globals())

# %%
mf.nb.versions()
