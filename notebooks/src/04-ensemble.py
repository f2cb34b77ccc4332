# %% [markdown]
# # 4. The ensemble: sampled sub-networks and target weight perturbation
#
# **What this notebook shows.** The trained distribution is an ensemble of sub-networks. We sample
# many of them, measure their test errors against the mean-field errors, and ask how different they
# really are (how many connections two of them share, and how often they disagree on a test image).
# Then the target-weight-perturbation experiment of `paper.md` §4, on the first weight layer:
#
# 1. **VIP removal**: a fraction $f$ of the VIPs is removed ($\pi \to 1$); mean error of 10 sampled networks;
# 2. **UIP activation**: a fraction $f$ of the UIPs is switched on with $\mathcal N(0,1)$ values in a sampled network;
# 3. **control**: the same *number* of variable weights as in 1 is removed.
#
# The paper's expectation: removing VIPs hurts far more than removing as many variable weights, and
# activating UIPs hurts little.
#
# **Paper figure.** Fig. 3, target weight perturbation: *reconstructed*; the sampled-ensemble
# statistics are from the text's claims.

# %% tags=["parameters"]
quick = False
n_seeds = 5
epochs = 200
n_train = 10_000
batch_size = 500
n_networks = 100     # sampled sub-networks per seed
n_perturb = 10       # samples (or repeats) per perturbation point

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

quick = mf.nb.setup(quick)
if quick:
    n_seeds, epochs, n_train, batch_size, n_networks, n_perturb = (
        mf.nb.QUICK[k] for k in ("n_seeds", "epochs", "n_train", "batch_size", "n_samples", "n_perturb"))
for name, lo in (("n_seeds", 1), ("epochs", 1), ("n_train", 1), ("batch_size", 1), ("n_networks", 2), ("n_perturb", 1)):
    mf.nb.param(name, globals()[name], int, lo)
torch.set_num_threads(mf.default_threads())
seeds = list(range(n_seeds))
data = mf.load_dataset("mnist", n_train=n_train)
cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)
runs = [mf.cached_train(cfg, seed=s, data=data) for s in seeds]

# %% [markdown]
# ## Many sub-networks
#
# For each seed: `n_networks` sub-networks sampled from the trained distribution, evaluated on the
# 10,000 test images, next to the two mean-field errors of the same trained distribution.

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
fig, ax = plt.subplots(figsize=(7, 3.8))
for i, (e, row) in enumerate(zip(all_errors, rows)):
    ax.hist(e, bins=25, alpha=0.45, color=f"C{i}", label=f"seed {row['seed']}: {n_networks} sampled networks")
    ax.axvline(row["eps=0 MF"], color=f"C{i}", ls="--", lw=1.2)
    ax.axvline(row["noisy MF"], color=f"C{i}", ls=":", lw=1.2)
ax.set_xlabel("test error (%)")
ax.set_ylabel("sub-networks")
ax.set_title("sampled sub-networks (bars), eps = 0 MF (dashed), noisy MF (dotted)")
ax.legend(fontsize=7)
fig.tight_layout()
mf.nb.save_figure(fig, "fig4a_subnetwork_errors")
plt.show()

# %% [markdown]
# *Shared* is the Jaccard index of the sets of present connections of two sub-networks (averaged over
# pairs): how much of the wiring two sub-networks have in common. *Disagreement* is the fraction of
# test images on which two sub-networks predict different classes (averaged over pairs).
#
# ## Target weight perturbation (first layer)

# %%
curves = [mf.perturbation(run.params, data.x_test, data.y_test, n_samples=n_perturb, generator=mf.generator(300 + run.seed))
          for run in runs]
fractions = np.array(curves[0]["fractions"])
names = {"vip_removal": "remove VIPs", "variable_removal": "remove as many variable weights (control)",
         "uip_activation": "activate UIPs"}
fig, ax = plt.subplots(figsize=(6.5, 4.2))
pert = {}
for i, (key, label) in enumerate(names.items()):
    m = np.array([[p[0] for p in c[key]] for c in curves], dtype=float)  # (seeds, fractions): mean over samples
    mean = np.nanmean(m, 0) if np.isfinite(m).any() else m[0]
    sd = np.nanstd(m, 0, ddof=1) if len(m) > 1 else np.zeros_like(mean)
    pert[key] = {"mean": mean.tolist(), "sd": sd.tolist()}
    ax.errorbar(fractions, mean, yerr=sd, marker="os^"[i], capsize=3, label=label)
ax.set_xlabel("fraction f of the targeted category")
ax.set_ylabel("test error (%)")
ax.legend(fontsize=8)
fig.tight_layout()
mf.nb.save_figure(fig, "fig4b_target_perturbation")
plt.show()
counts = pd.DataFrame([c["counts"] for c in curves], index=pd.Index(seeds, name="seed"))
short = {s: c["variable_short"] for s, c in zip(seeds, curves) if c["variable_short"]}
print("first-layer category counts per seed:")
display(counts)
print("control impossible (fewer variable weights than int(f * N_VIP)) at:", short or "no fraction")

# %% [markdown]
# Error bars: sd over seeds of the per-seed mean over `n_perturb` samples. At $f = 1$ every VIP of
# the first layer is gone in curve 1, while the control removes the same *number* of variable weights,
# which is a small share of them because variable weights are far more numerous.

# %%
i1 = len(fractions) - 1
base = pert["vip_removal"]["mean"][0]
saved = mf.nb.save_results("ensemble", {
    "subnetworks": ens.reset_index().to_dict(orient="records"),
    "sampled_sd_mean": float(ens["sampled sd"].mean()),
    "perturbation": {"fractions": fractions.tolist(), **pert, "counts": counts.reset_index().to_dict(orient="records"),
                     "variable_short": {str(k): v for k, v in short.items()}},
    "delta_at_f1": {k: pert[k]["mean"][i1] - base for k in pert},
})
print("wrote", saved.relative_to(mf.nb.ROOT))
