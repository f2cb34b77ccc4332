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
# first weight layer, for a fraction $f$ from 0 to 1:
#
# 1. **remove VIPs**: $\mathrm{int}(f\cdot N_\mathrm{VIP})$ VIPs get $\pi = 1$; mean error of `n_perturb` sampled networks;
# 2. **activate UIPs**: $\mathrm{int}(f\cdot N_\mathrm{UIP})$ UIPs of a sampled network get $\mathcal N(0,1)$ values;
# 3. **control**: the same *number* of variable connections as in 1 get $\pi = 1$.
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

# %% [markdown]
# ## Many sub-networks
#
# For each seed: `n_networks` sub-networks sampled from the trained distribution, evaluated on the
# 10,000 test images, next to the two mean-field errors of the same distribution. *Shared* is the
# Jaccard index of the sets of present connections of two sub-networks (mean over pairs): how much
# wiring they have in common. *Disagreement* is the fraction of test images on which two
# sub-networks predict different classes (mean over pairs).

# %%
rows, all_errors = [], []
for run in runs:
    res = mf.ensemble_study(run.params, data.x_test, data.y_test, n=n_networks, generator=mf.generator(100 + run.seed))
    mfe = mf.evaluate(run.network(), data.x_test, data.y_test, mf.generator(200 + run.seed))
    e = res["errors"].numpy()
    all_errors.append(e)
    rows.append({"seed": run.seed, "sampled mean": e.mean(), "sampled sd": e.std(ddof=1), "sampled min": e.min(),
                 "sampled max": e.max(), "noisy MF": mfe["mf_noisy"], "eps=0 MF": mfe["mf_mean"],
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
curves = [mf.perturbation(run.params, data.x_test, data.y_test, n_samples=n_perturb, generator=mf.generator(300 + run.seed))
          for run in runs]
fractions = np.array(curves[0]["fractions"])
counts = pd.DataFrame([c["counts"] for c in curves], index=pd.Index(seeds, name="seed"))
pert = {}
for key in ("vip_removal", "variable_removal", "uip_activation"):
    m = np.array([[p[0] for p in c[key]] for c in curves], dtype=float)  # (seeds, fractions): mean over samples
    mean = np.nanmean(m, 0) if np.isfinite(m).any() else m[0]
    sd = np.nanstd(m, 0, ddof=1) if len(m) > 1 else np.zeros_like(mean)
    pert[key] = {"mean": mean.tolist(), "sd": sd.tolist()}
short = {s: c["variable_short"] for s, c in zip(seeds, curves) if c["variable_short"]}
print("first-layer connections per category and seed:")
counts

# %%
names = {"vip_removal": ("remove VIPs", "C3", "o"), "variable_removal": ("remove as many variable (control)", "C0", "s"),
         "uip_activation": ("activate UIPs", "C2", "^")}
fig, ax = plt.subplots(figsize=(7, 4.6))
for key, (label, colour, marker) in names.items():
    ax.errorbar(fractions, pert[key]["mean"], yerr=pert[key]["sd"], color=colour, marker=marker, capsize=3, label=label)
ax.axhline(pert["vip_removal"]["mean"][0], color="k", ls="--", lw=1, label="unperturbed (sampled networks)")
ax.set_xlabel("fraction f of the targeted category")
ax.set_ylabel("test error (%)")
n_vip, n_uip = counts["VIP"].mean(), counts["UIP"].mean()
top = ax.secondary_xaxis("top", functions=(lambda f: f * n_vip, lambda n: n / n_vip))
top.set_xlabel(f"connections removed in curves 1 and 3 (mean over seeds; N_VIP = {n_vip:.0f}, N_UIP = {n_uip:.0f})")
ax.set_title("Target weight perturbation, first layer (cf. paper Fig. 3, reconstructed)", fontsize=11)
ax.legend(fontsize=8)
fig.tight_layout()
mf.nb.save_figure(fig, "04b_target_perturbation_paper-fig3")
print("control impossible (fewer variable weights than int(f * N_VIP)) at:", short or "no fraction")

# %% [markdown]
# Error bars: sd over seeds of the per-seed mean over `n_perturb` samples. At $f = 1$ curve 1 has
# removed every first-layer VIP, while the control removes the same *number* of variable weights,
# a small share of them, since variable weights are far more numerous.

# %%
i1 = len(fractions) - 1
base = pert["vip_removal"]["mean"][0]
delta = {k: pert[k]["mean"][i1] - base for k in pert}
saved = mf.nb.save_results("ensemble", {
    "subnetworks": ens.reset_index().to_dict(orient="records"),
    "sampled_sd_mean": float(ens["sampled sd"].mean()),
    "perturbation": {"fractions": fractions.tolist(), **pert, "counts": counts.reset_index().to_dict(orient="records"),
                     "variable_short": {str(k): v for k, v in short.items()}},
    "delta_at_f1": delta,
})
print("wrote", saved.relative_to(mf.nb.ROOT))

# %% [markdown]
# ## What we learned

# %%
mf.nb.show_markdown(f"""
- Sampled sub-networks all work: over {n_seeds} seeds × {n_networks} sub-networks the errors span
  {ens['sampled min'].min():.2f}–{ens['sampled max'].max():.2f} %, with an sd of {ens['sampled sd'].mean():.2f} points
  within a seed. They are different networks: two of them share
  {ens.filter(like='shared').mean().min():.0f}–{ens.filter(like='shared').mean().max():.0f} % of their present
  connections per layer and disagree on {ens['disagreement (%)'].mean():.1f} % of the test images.
- Removing all first-layer VIPs ({n_vip:.0f} connections on average) raises the error by
  **{delta['vip_removal']:+.2f} points**; removing as many variable connections by {delta['variable_removal']:+.2f}
  points; switching on all {n_uip:.0f} UIPs with $\\mathcal N(0,1)$ values by {delta['uip_activation']:+.2f} points
  (unperturbed: {base:.2f} %).
- The control removes connections of every size, while VIPs are chosen by the ensemble; whether
  VIPs matter because they are *important* or because they are *large* is not separated by this control.
""")

# %% [markdown]
# ## Try it
#
# 1. How many sub-networks does a stable mean error need? Compare the mean error of the first 5,
#    20 and all sub-networks of seed 0.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    e = all_errors[0]
#    print(e[:5].mean(), e[:20].mean(), e.mean())
#    ```
#    </details>
#
# 2. Remove VIPs from the *second* weight layer instead of the first (`layer=1`) for seed 0, with
#    fractions 0, 0.5 and 1.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    r = mf.perturbation(runs[0].params, data.x_test, data.y_test, fractions=[0, 0.5, 1], n_samples=2,
#                        layer=1, generator=mf.generator(1))
#    print(r["counts"], [round(m, 2) for m, _ in r["vip_removal"]])
#    ```
#    </details>
#
# 3. Draw one sub-network, an ordinary torch module, and measure its error yourself.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    sub = runs[0].network().sample(mf.generator(42))
#    print((sub(data.x_test).argmax(1) != data.y_test).float().mean().item() * 100)
#    ```
#    </details>

# %%
mf.nb.versions()
