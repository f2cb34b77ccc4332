# %% [markdown]
# # 1. Theory: the spike-and-slab ensemble, its mean field, and gBP
#
# **What this notebook shows.** The model of Li & Huang (PRL 125, 178301, 2020): every connection
# is a random variable, the pre-activations of the resulting network ensemble are Gaussian by the
# central limit theorem, and the learning rule gBP is the exact gradient of the mean-field loss.
# We check both numerically: sampled networks against the predicted Gaussian N(G, Delta) (on an
# untrained and a trained net), and the closed-form gBP against autograd.
#
# **Paper figure.** None directly: this is the supplemental derivation, reconstructed from the
# equations (`paper.md` §1–2), not from the paper's text.

# %% tags=["parameters"]
quick = False        # True: small and fast (Binder, tests)
seed = 0             # seed of the trained network (shared with notebook 2)
n_samples = 10_000   # sampled weight matrices per layer for the CLT check
epochs = 200         # paper recipe
n_train = 10_000     # first M training images
batch_size = 500

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

import mfcredit as mf

quick = mf.nb.setup(quick)
if quick:
    n_samples, epochs, n_train, batch_size = (mf.nb.QUICK[k] for k in ("n_mc_samples", "epochs", "n_train", "batch_size"))
for name, lo in (("seed", 0), ("n_samples", 100), ("epochs", 1), ("n_train", 1), ("batch_size", 1)):
    mf.nb.param(name, globals()[name], int, lo)
torch.set_num_threads(mf.default_threads())
print(f"quick={quick}, n_samples={n_samples}, epochs={epochs}, n_train={n_train}")

# %% [markdown]
# ## The model
#
# Every weight $w_{ij}$ of layer $l$ (row $i$ = output unit, column $j$ = input unit) is independent:
#
# $$P(w) = \pi\,\delta(w) + (1-\pi)\,\mathcal N(w; m, \Xi)$$
#
# with $\pi$ the probability that the connection is **absent**, $m$ the slab mean and $\Xi$ the slab
# **variance**. Its moments are $\mu = (1-\pi)m$, $\rho = (1-\pi)(m^2+\Xi)$ and
# $\operatorname{var}(w) = \rho-\mu^2 = (1-\pi)\Xi + \pi(1-\pi)m^2$.
#
# For a fixed layer input $a$ the pre-activation $z_i = \frac{1}{\sqrt N}\sum_j w_{ij} a_j$ is a sum
# of $N$ independent terms, so by the central limit theorem
#
# $$z_i \approx \mathcal N(G_i, \Delta_i),\quad G_i = \tfrac{1}{\sqrt N}\sum_j \mu_{ij}a_j,\quad
# \Delta_i = \tfrac1N\sum_j(\rho_{ij}-\mu_{ij}^2)a_j^2 .$$
#
# The mean-field network propagates $z_i = G_i + \sqrt{\Delta_i}\,\epsilon_i$ with fresh
# $\epsilon_i\sim\mathcal N(0,1)$ per unit and example. $G$ and $\Delta$ are the *exact* mean and
# variance of $z_i$ given $a$; only the Gaussian shape is an approximation. We test the shape.

# %%
data = mf.load_dataset("mnist", n_train=n_train)
cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)
untrained = mf.MFNet(cfg.widths).init_(cfg.init_m_std, cfg.init_xi, cfg.init_pi, generator=mf.generator(seed))
run = mf.cached_train(cfg, seed=seed, data=data, progress=False)
trained = run.network()
x = data.x_test[0]  # one test image (a "7")


def standardised_samples(net, x, g):
    """Per layer: sampled z for a fixed layer input (the eps = 0 activity of the layers below),
    standardised with the mean-field (G, Delta) of each unit; units with Delta ~ 0 are skipped."""
    out, a = [], x
    for layer in net.layers:
        G, Delta = (t[0] for t in layer.field(a[None]))
        z = mf.analysis.layer_samples(layer.pi.detach(), layer.m.detach(), layer.xi.detach(), a, n_samples, g)
        keep = Delta > 1e-12
        out.append(((z[:, keep] - G[keep]) / Delta[keep].sqrt()).detach())
        a = torch.relu(layer(a[None], None))[0].detach()
    return out


g = mf.generator(1234)
std = {"untrained": standardised_samples(untrained, x, g), "trained": standardised_samples(trained, x, g)}

# %% [markdown]
# ### Sampled pre-activations against the predicted Gaussian
#
# For each layer we draw `n_samples` weight matrices, compute every unit's pre-activation for the
# same input, and standardise it with that unit's $(G_i, \Delta_i)$. If the CLT holds, the pooled
# standardised values follow $\mathcal N(0,1)$: mean 0, variance 1, and a QQ line on the diagonal.

# %%
rows = []
fig, axes = plt.subplots(2, len(cfg.widths) - 1, figsize=(11, 6), sharey="row")
grid = np.linspace(-4.5, 4.5, 200)
for r, (state, per_layer) in enumerate(std.items()):
    for l, t in enumerate(per_layer):
        v = t.flatten().double()
        rows.append({"net": state, "layer": l + 1, "units": t.shape[1], "mean": v.mean().item(), "var": v.var().item(),
                     "skew": ((v - v.mean()) ** 3).mean().item() / v.var().item() ** 1.5,
                     "excess kurtosis": ((v - v.mean()) ** 4).mean().item() / v.var().item() ** 2 - 3})
        ax = axes[r, l]
        ax.hist(v.numpy(), bins=80, range=(-4.5, 4.5), density=True, color="C0", alpha=0.6, label="sampled networks")
        ax.plot(grid, np.exp(-grid ** 2 / 2) / math.sqrt(2 * math.pi), "k-", lw=1.5, label="N(0, 1) (mean field)")
        ax.set_title(f"{state}, layer {l + 1} ({t.shape[1]} units)")
        ax.set_xlabel(r"$(z - G)/\sqrt{\Delta}$")
axes[0, 0].legend(fontsize=8, loc="upper left")
fig.tight_layout()
mf.nb.save_figure(fig, "fig1_clt_preactivations")
plt.show()

import pandas as pd

clt = pd.DataFrame(rows)
clt.round(3)

# %% [markdown]
# Mean ≈ 0 and variance ≈ 1 in every layer confirm that $(G,\Delta)$ are the exact moments. The
# shape is close to Gaussian: the skewness and excess kurtosis above (0 for a Gaussian) measure what
# remains. After training, a few large weights can dominate a unit's sum, which shows up as larger
# kurtosis: the CLT holds less well for a trained net than for the random initial one.
#
# ### The whole network: sampled sub-networks vs the noisy mean-field pass
#
# Deeper layers in the mean-field pass see the *noisy* activity of the layer below, while a sampled
# network sees its own sampled activity. So the output distribution of the mean-field pass is an
# approximation. We compare the logits of one output unit (the true class) for the same image.

# %%
S = n_samples // 5
z_sampled = mf.analysis.sampled_logits(run.params, x[None], S, mf.generator(7), chunk=100)[:, 0, :]  # (S, 10)
z_mf = trained.preactivations(x[None].expand(S, -1), generator=mf.generator(8))[-1]
label = data.y_test[0].item()
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(z_sampled[:, label].numpy(), bins=60, density=True, alpha=0.55, label="sampled sub-networks")
ax.hist(z_mf[:, label].numpy(), bins=60, density=True, alpha=0.55, label="noisy mean-field pass")
ax.set_xlabel(f"logit of the true class ({label}), trained net")
ax.set_ylabel("density")
ax.legend()
mf.nb.save_figure(fig, "fig1b_sampled_vs_meanfield_logit")
plt.show()
print(f"sampled: mean {z_sampled[:, label].mean():.3f}, sd {z_sampled[:, label].std():.3f}; "
      f"mean field: mean {z_mf[:, label].mean():.3f}, sd {z_mf[:, label].std():.3f}")

# %% [markdown]
# ## gBP: the learning rule
#
# With $\epsilon$ held fixed, the loss is an ordinary differentiable function of $(\pi, m, \Xi)$
# through $z = G + \sqrt{\Delta}\epsilon$. Writing $\delta_k = \partial L/\partial z_k$,
# $D_k = \sqrt{N\Delta_k}$ and $s = 1/\sqrt N$ (sums over the batch, divided by its size):
#
# $$\frac{\partial L}{\partial m_{kj}} = s\sum_b\Big[(1-\pi_{kj})\delta_k a_j + \frac{\delta_k\epsilon_k}{D_k}a_j^2\mu_{kj}\pi_{kj}\Big],\qquad
# \frac{\partial L}{\partial \Xi_{kj}} = s\sum_b \frac{\delta_k\epsilon_k}{2D_k}a_j^2(1-\pi_{kj}),$$
#
# $$\frac{\partial L}{\partial \pi_{kj}} = -s\sum_b\Big[\delta_k a_j m_{kj} + \frac{\delta_k\epsilon_k}{2D_k}a_j^2\big((2\pi_{kj}-1)m_{kj}^2+\Xi_{kj}\big)\Big],$$
#
# $$\delta_i^{l-1} = f'(z_i^{l-1})\,s\sum_k\Big[\mu_{ki}\delta_k + (\rho_{ki}-\mu_{ki}^2)a_i\frac{\delta_k\epsilon_k}{D_k}\Big].$$
#
# `mf.gbp_gradients` implements these lines literally. Training uses the same equations, written as
# the backward pass of `mf.MeanFieldLinear` (one layer, fewer elementwise passes: that is what makes
# a step cheap). We check both against plain autograd through the forward pass
# $z = G + \sqrt{\Delta}\,\epsilon$, in float64, on a small random network with some $\pi$
# exactly 0 or 1 and some $\Xi = 0$.

# %%
g = mf.generator(0)
small = mf.MFNet((30, 12, 8, 4), dtype=torch.float64)
with torch.no_grad():
    for layer in small.layers:
        layer.pi.copy_(torch.rand(layer.pi.shape, generator=g, dtype=torch.float64))
        layer.pi.view(-1)[::4] = 0.0
        layer.pi.view(-1)[1::9] = 1.0
        layer.m.copy_(torch.randn(layer.m.shape, generator=g, dtype=torch.float64))
        layer.xi.copy_(torch.rand(layer.xi.shape, generator=g, dtype=torch.float64))
        layer.xi.view(-1)[::3] = 0.0
xb = torch.rand(16, 30, generator=g, dtype=torch.float64)
yb = torch.randint(0, 4, (16,), generator=g)
eps = [torch.randn(16, n, generator=g, dtype=torch.float64) for n in small.widths[1:]]


def autograd_grads(net, training_path):
    """Gradients of the batch loss w.r.t. (pi, m, xi): through MeanFieldLinear, or plain autograd."""
    net.zero_grad()
    a = xb
    for l, layer in enumerate(net.layers):
        if training_path:
            z = layer(a, eps[l])
        else:
            G, Delta = layer.field(a)
            z = G + torch.sqrt(Delta + mf.layers.SQRT_EPS) * eps[l]
        a = torch.relu(z) if l < len(net.layers) - 1 else z
    torch.nn.functional.cross_entropy(a, yb).backward()
    return {k: [layer.theta.grad[i].clone() for layer in net.layers] for i, k in enumerate(("pi", "m", "xi"))}


auto = autograd_grads(small, training_path=False)
candidates = {"closed form (mf.gbp_gradients)": mf.gbp_gradients(small, xb, yb, eps),
              "training (mf.MeanFieldLinear)": autograd_grads(small, training_path=True)}
err = {}
for name, grads in candidates.items():
    for key in ("pi", "m", "xi"):
        for l in range(len(small.layers)):
            err[(name, f"{key}, layer {l + 1}")] = ((grads[key][l] - auto[key][l]).abs().max() / auto[key][l].abs().max()).item()
pd.Series(err, name="relative error vs autograd").unstack().map(lambda v: f"{v:.1e}")

# %%
# NBVAL_CHECK_OUTPUT
print("gBP (closed form and training path) equals autograd (relative error <= 1e-8):", max(err.values()) <= 1e-8)

# %% [markdown]
# ### The BP limit
#
# At $\pi = 0$ and $\Xi = 0$ every connection is a fixed weight $m$, $\Delta = 0$, and gBP reduces
# to ordinary backpropagation for a network with $1/\sqrt N$ scaling (the tiny $10^{-20}$ under the
# square root only adds $10^{-10}\epsilon$ to each pre-activation).

# %%
bp = mf.PlainNet(small.widths, dtype=torch.float64)
lim = mf.MFNet(small.widths, dtype=torch.float64).init_(1.0, 0.0, 0.0, generator=mf.generator(3))
with torch.no_grad():
    for a, b in zip(lim.layers, bp.layers):
        b.weight.copy_(a.m)
torch.nn.functional.cross_entropy(lim(xb, eps=eps), yb).backward()
torch.nn.functional.cross_entropy(bp(xb), yb).backward()
bp_err = max(((a.theta.grad[1] - b.weight.grad).abs().max() / b.weight.grad.abs().max()).item() for a, b in zip(lim.layers, bp.layers))

# %%
# NBVAL_CHECK_OUTPUT
print("at pi = 0, xi = 0 the m-gradients equal BP's (relative error <= 1e-8):", bp_err <= 1e-8)

# %%
saved = mf.nb.save_results("theory", {"clt": clt.to_dict(orient="records"), "gbp_max_relative_error": max(err.values()),
                              "bp_limit_relative_error": bp_err})
print("wrote", saved.relative_to(mf.nb.ROOT))
