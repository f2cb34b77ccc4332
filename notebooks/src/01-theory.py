# %% [markdown]
# # 1. Theory: the spike-and-slab ensemble, its mean field, and gBP
#
# **The question.** Which connections of a trained network actually matter for its task, and how
# could a learning rule *find out*, rather than leave it to pruning by hand afterwards? Li and Huang
# (Phys. Rev. Lett. 125, 178301 (2020), [arXiv:2001.03354](https://arxiv.org/abs/2001.03354)) answer
# by training not one network but a whole *ensemble* of them, and reading the answer off the
# learned distribution.
#
# **Why it matters.** If the ensemble learns that a connection is always present with one value, or
# always absent, the credit it gives that connection is written in its parameters, not guessed from
# a single network's weights. This notebook holds the whole model: the network, the distribution of
# each connection, the mean-field approximation that makes training cheap, and the learning rule
# gBP. Every step is checked numerically.
#
# *Reading order and symbols:* [index](00-index.ipynb) · [notation and glossary](../docs/glossary.md).
# *Paper figure:* none; this is the paper's derivation, rebuilt from its equations.

# %% tags=["parameters"]
quick: bool = False     # True: small and fast (Binder, tests)
seed: int = 0           # seed of the trained network (the same run as notebook 2's seed 0)
n_samples: int = 10_000  # sampled weight matrices per layer for the central-limit check
epochs: int = 200       # paper recipe
n_train: int = 10_000   # first M training images
batch_size: int = 500

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mfcredit as mf

mf.nb.setup(globals())

# %% [markdown]
# ## 1. Why an ensemble
#
# Backpropagation gives one set of weights. Whether a connection "matters" is then a question asked
# afterwards, for instance by the size of its weight. The paper instead makes every connection a
# random variable and trains the *parameters of its distribution*. A connection that the task needs
# should end up always present with a sharp value; one it does not need should end up absent, or
# free to take many values. The trained distribution is then an ensemble of sub-networks, and the
# credit of each connection is part of what was learned.
#
# ## 2. The network
#
# A fully connected feed-forward network with widths $N_0 = 784$ (pixels), hidden widths
# $N_1, \dots, N_{L-1}$ and $N_L = 10$ classes. **No biases.** Each layer scales its input sum by
# $1/\sqrt{N_{l-1}}$, so pre-activations stay of order one whatever the width:
#
# $$z^l_i = \frac{1}{\sqrt{N_{l-1}}}\sum_{j=1}^{N_{l-1}} w^l_{ij}\,a^{l-1}_j,\qquad
# a^l_i = \mathrm{ReLU}(z^l_i)\ \ (l < L),\qquad a^0 = x .$$
#
# The output layer's $z^L$ are the logits; the loss is the softmax cross-entropy averaged over a
# mini-batch of $B$ examples, $\mathcal L = -\frac1B\sum_b \ln\big(e^{z^L_{y_b}}/\sum_k e^{z^L_k}\big)$.
#
# ## 3. One connection: the spike-and-slab law
#
# Every weight $w_{ij}$ is independent, with
#
# $$P(w) = \pi\,\delta(w) + (1-\pi)\,\mathcal N(w; m, \Xi).$$
#
# $\pi$ is the probability that the connection is **absent**, $m$ the slab mean and $\Xi$ the slab
# **variance**: three trainable numbers per connection. Its moments follow from the two parts:
#
# $$\mu \equiv \langle w\rangle = (1-\pi)\,m,\qquad \rho \equiv \langle w^2\rangle = (1-\pi)(m^2+\Xi),\qquad
# \operatorname{var}(w) = \rho-\mu^2 = (1-\pi)\,\Xi + \pi(1-\pi)\,m^2 .$$
#
# Three limits name the kinds of connection found after training: $\pi = 0, \Xi = 0$ is a fixed
# weight $m$ (**VIP**, very important); $\pi = 1$ is a connection that is never there (**UIP**,
# unimportant); anything else is **variable**. The explorer below draws $P(w)$ for any $(\pi, m, \Xi)$.

# %%
def category(pi, xi):
    return "VIP" if pi == 0 and xi == 0 else "UIP" if pi == 1 else "variable"


def draw_pw(pi=0.3, m=1.0, xi=0.25):
    """P(w) of one connection: the slab (1 - pi) N(m, xi) as a curve, the spike pi delta(w) as an arrow."""
    w = np.linspace(-4, 4, 801)
    slab = (1 - pi) * np.exp(-(w - m) ** 2 / (2 * xi)) / math.sqrt(2 * math.pi * xi) if xi > 0 else 0 * w
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(w, slab, color="C0", label=r"slab $(1-\pi)\,\mathcal{N}(m, \Xi)$")
    if xi == 0 and pi < 1:
        ax.annotate("", (m, 1 - pi), (m, 0), arrowprops=dict(arrowstyle="->", color="C0", lw=2))
    ax.annotate("", (0, pi), (0, 0), arrowprops=dict(arrowstyle="->", color="C3", lw=2))
    ax.plot([], [], color="C3", lw=2, label=r"spike $\pi\,\delta(w)$ (height = its weight)")
    S = mf.connection_entropy(torch.tensor([pi]), torch.tensor([m]), torch.tensor([xi]), generator=mf.generator(0))
    ax.set(xlabel="w", ylabel="density / point mass", ylim=(0, max(1.05, 1.1 * slab.max())),
           title=f"pi={pi:.2f}, m={m:.2f}, Xi={xi:.2f}: {category(pi, xi)}, entropy S = {S.item():.3f}")
    ax.legend(fontsize=8, loc="upper left")
    plt.show()


draw_pw()

# %% [markdown]
# With a running kernel, move the sliders (this needs `ipywidgets`, part of the project's
# environment; the static drawing above is the default setting).

# %%
from ipywidgets import FloatSlider, interact

interact(draw_pw, pi=FloatSlider(value=0.3, min=0, max=1, step=0.01),
         m=FloatSlider(value=1.0, min=-3, max=3, step=0.05), xi=FloatSlider(value=0.25, min=0, max=2, step=0.01));

# %% [markdown]
# ## 4. The mean field: from random weights to a Gaussian pre-activation
#
# Fix the layer input $a$. Then $z_i = s\sum_j w_{ij}a_j$ with $s = 1/\sqrt N$ is a sum of $N$
# independent terms, so its mean and variance are exact and, by the central limit theorem, its
# distribution over the ensemble is close to Gaussian when $N$ is large:
#
# $$z_i \approx \mathcal N(G_i, \Delta_i),\qquad G_i = s\sum_j \mu_{ij}a_j,\qquad
# \Delta_i = s^2\sum_j(\rho_{ij}-\mu_{ij}^2)\,a_j^2 .$$
#
# The **mean-field network** propagates, layer by layer,
#
# $$z_i = G_i + \sqrt{\Delta_i}\;\epsilon_i,\qquad \epsilon_i\sim\mathcal N(0,1)\ \text{fresh for every unit and example},$$
#
# including the output layer, and the loss $\mathcal L$ is taken on these noisy logits. A tiny
# constant ($10^{-20}$) under the square root keeps the gradient finite where $\Delta = 0$.
#
# This is the *local reparameterisation trick* of Kingma, Salimans and Welling (NeurIPS 2015,
# [arXiv:1506.02557](https://arxiv.org/abs/1506.02557)): instead of sampling a weight matrix per
# example, sample each pre-activation from its distribution given the input, which is cheaper and
# less noisy. There the weights are Gaussian, so $z$ is exactly Gaussian; here a spike-and-slab
# weight makes the Gaussian an approximation, and the loss is the plain expected cross-entropy, with
# no prior or KL term.
#
# Only the *shape* is approximate: $G$ and $\Delta$ are the exact moments. We test the shape: for one
# test image, we draw `n_samples` weight matrices per layer, compute every unit's pre-activation for
# the same layer input, and standardise it with that unit's $(G_i, \Delta_i)$. If the central limit
# theorem holds, the pooled values are $\mathcal N(0, 1)$.

# %%
data = mf.load_dataset("mnist", n_train=n_train)
cfg = mf.TrainConfig(epochs=epochs, n_train=n_train, batch_size=batch_size)
untrained = mf.MFNet(cfg.widths).init_(cfg.init_m_std, cfg.init_xi, cfg.init_pi, generator=mf.generator(seed))
run = mf.sweep([(cfg, seed)])[0]  # trained once (1 thread), then served from the cache
trained = run.network()
x = data.x_test[0]  # one test image (a "7")


def standardised_samples(net, x, g, n=None):
    """Per layer: n (default n_samples) sampled z for a fixed layer input (the eps = 0 activity of the
    layers below), standardised with the mean-field (G, Delta) of each unit; units with Delta ~ 0 are skipped."""
    out, a = [], x
    for layer in net.layers:
        G, Delta = (t[0] for t in layer.field(a[None]))
        z = mf.ensemble.layer_samples(layer.pi.detach(), layer.m.detach(), layer.xi.detach(), a, n or n_samples, g)
        keep = Delta > 1e-12
        out.append(((z[:, keep] - G[keep]) / Delta[keep].sqrt()).detach())
        a = torch.relu(layer(a[None], None))[0].detach()
    return out


g = mf.generator(1234)
std = {"untrained": standardised_samples(untrained, x, g), "trained": standardised_samples(trained, x, g)}

# %%
def moments(v):
    v = v.flatten().double()
    c = v - v.mean()
    return {"mean": v.mean().item(), "var": v.var().item(), "skew": (c ** 3).mean().item() / v.var().item() ** 1.5,
            "excess kurtosis": (c ** 4).mean().item() / v.var().item() ** 2 - 3}


clt = pd.DataFrame([{"net": state, "layer": l + 1, "units": t.shape[1], **moments(t)}
                    for state, per_layer in std.items() for l, t in enumerate(per_layer)])
clt.round(3)

# %%
fig, axes = plt.subplots(2, len(cfg.widths) - 1, figsize=(11, 6), sharey="row")
grid = np.linspace(-4.5, 4.5, 200)
for r, (state, per_layer) in enumerate(std.items()):
    for l, t in enumerate(per_layer):
        ax = axes[r, l]
        ax.hist(t.flatten().numpy(), bins=80, range=(-4.5, 4.5), density=True, color="C0", alpha=0.6,
                label="sampled networks")
        ax.plot(grid, np.exp(-grid ** 2 / 2) / math.sqrt(2 * math.pi), "k-", lw=1.5, label="N(0, 1) (mean field)")
        ax.set_title(f"{state}, layer {l + 1} ({t.shape[1]} units)")
        ax.set_xlabel(r"standardised pre-activation $(z - G)/\sqrt{\Delta}$")
    axes[r, 0].set_ylabel("density (log scale: the tails)")
    axes[r, 0].set_yscale("log")
    axes[r, 0].set_ylim(1e-4, 1)
axes[0, 0].legend(fontsize=8, loc="upper left")
fig.suptitle("Central-limit check of the mean field, one test image (supplementary derivation)")
fig.tight_layout()
mf.nb.save_figure(fig, "01a_clt_preactivations")

# %% tags=["hide-input"] jupyter={"source_hidden": true}
worst = clt.loc[clt["excess kurtosis"].abs().idxmax()]
mf.nb.show_markdown(
    f"Mean and variance are {clt['mean'].abs().max():.3f} and {clt['var'].min():.3f}–{clt['var'].max():.3f} "
    f"at worst (0 and 1 expected): $(G, \\Delta)$ are the exact moments in every layer. For the shape, "
    f"the excess kurtosis (0 for a Gaussian): untrained, the largest |excess kurtosis| is "
    f"{clt[clt.net == 'untrained']['excess kurtosis'].abs().max():.3f}, as it must be: at initialisation every "
    "$\\pi = 0$, so every weight is Gaussian and so is every pre-activation (a check of the sampler, not yet of "
    f"the central limit theorem). After training, with $\\pi$ spread over $[0, 1]$, it reaches "
    f"**{worst['excess kurtosis']:.1f}** in {worst['net']} layer {worst['layer']} "
    f"({worst['units']} units, skewness {worst['skew']:.2f}). "
    + ("There the Gaussian approximation is poor: the mean field is a good model of the layers whose "
       "kurtosis stays near 0, and only a rough one of this one."
       if abs(worst["excess kurtosis"]) > 1 else
       "That is still close to Gaussian: in this run the approximation holds in every layer."))

# %% [markdown]
# ### The whole network: sampled sub-networks vs the noisy mean-field pass
#
# Deeper layers of the mean-field pass see the *noisy* activity of the layer below, while a sampled
# network sees its own sampled activity, so the mean-field output is an approximation on top of an
# approximation. We compare the logit of the true class for the same image: first its mean and
# standard deviation, then the shape of its distribution.

# %%
S = n_samples // 5
z_sampled = mf.ensemble.sampled_logits(run.params, x[None], S, mf.generator(7), chunk=100)[:, 0, :]  # (S, 10)
z_mf = trained.preactivations(x[None].expand(S, -1), generator=mf.generator(8))[-1]
label = data.y_test[0].item()
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(z_sampled[:, label].numpy(), bins=60, density=True, alpha=0.55, color="C0", label="sampled sub-networks")
ax.hist(z_mf[:, label].numpy(), bins=60, density=True, alpha=0.55, color="C1", label="noisy mean-field pass")
ax.set_xlabel(f"logit of the true class ({label}), trained net, one test image")
ax.set_ylabel("density")
ax.set_title("Sub-networks vs mean field at the output (supplementary)")
ax.legend()
mf.nb.save_figure(fig, "01b_sampled_vs_meanfield_logit")
logit = {"sampled": (z_sampled[:, label].mean().item(), z_sampled[:, label].std().item()),
         "mean field": (z_mf[:, label].mean().item(), z_mf[:, label].std().item())}
print("; ".join(f"{k}: mean {m:.3f}, sd {s:.3f}" for k, (m, s) in logit.items()))

# %% [markdown]
# Mean and standard deviation can agree while the shapes differ. We compare the two distributions'
# quantiles side by side, raw and standardised (each minus its own mean, over its own sd, so that
# only the shape is left), beside those of $\mathcal N(0, 1)$; their excess kurtosis (0 for a
# Gaussian); and the two-sample Kolmogorov-Smirnov statistic $D$, the largest gap between the two
# empirical distribution functions, on the raw values (any difference) and on the standardised ones
# (shape only; its p-value is then only approximate, since mean and sd were estimated from the data).

# %%
from scipy import stats

tc = {"sampled": z_sampled[:, label].double().numpy(), "mean field": z_mf[:, label].double().numpy()}
unit = {k: (v - v.mean()) / v.std(ddof=1) for k, v in tc.items()}
qs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
quantiles = pd.DataFrame({**{f"{k}": np.quantile(v, qs) for k, v in tc.items()},
                          **{f"{k}, standardised": np.quantile(v, qs) for k, v in unit.items()},
                          "N(0, 1)": stats.norm.ppf(qs)}, index=[f"{q:.0%}" for q in qs])
ks_raw, ks_shape = stats.ks_2samp(*tc.values()), stats.ks_2samp(*unit.values())
kurt = {k: stats.kurtosis(v) for k, v in tc.items()}  # excess (Fisher): 0 for a Gaussian
skew = {k: stats.skew(v) for k, v in tc.items()}
quantiles.round(3)

# %% tags=["hide-input"] jupyter={"source_hidden": true}
spread = {k: quantiles.loc["99%", f"{k}, standardised"] - quantiles.loc["1%", f"{k}, standardised"] for k in tc}
wider = max(spread, key=spread.get)
mf.nb.show_markdown(
    f"Over {len(tc['sampled']):,} draws each, the Kolmogorov-Smirnov statistic is D = {ks_raw.statistic:.3f} "
    f"(p = {ks_raw.pvalue:.2g}) on the raw values and D = {ks_shape.statistic:.3f} (p ≈ {ks_shape.pvalue:.2g}) on "
    f"the standardised ones. Excess kurtosis: sampled {kurt['sampled']:.2f}, mean field {kurt['mean field']:.2f}; "
    f"skewness {skew['sampled']:.2f} and {skew['mean field']:.2f}. Standardised, the {wider.replace(' ', '-')} logit has the wider "
    f"range from its 1% to its 99% quantile: {spread['sampled']:.2f} sampled, {spread['mean field']:.2f} mean field, "
    f"{quantiles.loc['99%', 'N(0, 1)'] - quantiles.loc['1%', 'N(0, 1)']:.2f} for a Gaussian. "
    + ("The shapes differ beyond sampling noise (standardised p < 0.01): the mean field gets the output's "
       "distribution only approximately, not just shifted or scaled."
       if ks_shape.pvalue < 0.01 else
       "At this number of draws the standardised shapes are indistinguishable (p ≥ 0.01) but the raw values are "
       "not (p < 0.01): the mean field has the right shape, shifted or scaled."
       if ks_raw.pvalue < 0.01 else
       "At this number of draws neither test tells the two apart (both p ≥ 0.01): here the noisy mean field "
       "reproduces the distribution of the sampled sub-networks' logit for this image, its shape included."))

# %% [markdown]
# ## 5. gBP: the learning rule
#
# With $\epsilon$ held fixed, $\mathcal L$ is an ordinary differentiable function of every
# $(\pi, m, \Xi)$ through $z = G + \sqrt{\Delta}\,\epsilon$. Its gradient is gBP. Write
# $\delta_k = \partial\mathcal L/\partial z_k$ for one example, $s = 1/\sqrt N$ and
# $\sigma_k = \sqrt{\Delta_k}/s$ (the unscaled standard deviation). **One line, step by step**, the
# gradient with respect to the slab variance $\Xi_{kj}$:
#
# 1. Only $\Delta_k$ depends on $\Xi_{kj}$, through $\rho_{kj}-\mu_{kj}^2 = (1-\pi_{kj})\Xi_{kj} + \pi_{kj}(1-\pi_{kj})m_{kj}^2$,
#    so $\partial\Delta_k/\partial\Xi_{kj} = s^2 a_j^2 (1-\pi_{kj})$.
# 2. $\partial z_k/\partial\Xi_{kj} = \epsilon_k\,\partial\sqrt{\Delta_k}/\partial\Xi_{kj}
#    = \frac{\epsilon_k}{2\sqrt{\Delta_k}}\,s^2a_j^2(1-\pi_{kj}) = \frac{s\,\epsilon_k}{2\sigma_k}\,a_j^2(1-\pi_{kj})$.
# 3. The chain rule and the batch mean: $\dfrac{\partial\mathcal L}{\partial\Xi_{kj}} = \frac{s}{B}\sum_b \frac{\delta_k\epsilon_k}{2\sigma_k}\,a_j^2\,(1-\pi_{kj})$.
#
# The same three steps through $G$ and $\Delta$ give the other two gradients and the error signal
# passed to the layer below ($f'$ is the ReLU's derivative, the sums run over the batch and are
# divided by $B$):
#
# $$\frac{\partial \mathcal L}{\partial m_{kj}} = \frac sB\sum_b\Big[(1-\pi_{kj})\delta_k a_j + \frac{\delta_k\epsilon_k}{\sigma_k}a_j^2\mu_{kj}\pi_{kj}\Big],\qquad
# \frac{\partial \mathcal L}{\partial \pi_{kj}} = -\frac sB\sum_b\Big[\delta_k a_j m_{kj} + \frac{\delta_k\epsilon_k}{2\sigma_k}a_j^2\big((2\pi_{kj}-1)m_{kj}^2+\Xi_{kj}\big)\Big],$$
#
# $$\delta_i^{l-1} = f'(z_i^{l-1})\,s\sum_k\Big[\mu_{ki}\delta_k + (\rho_{ki}-\mu_{ki}^2)\,a_i\,\frac{\delta_k\epsilon_k}{\sigma_k}\Big],\qquad
# \delta^L = \mathrm{softmax}(z^L) - \mathrm{onehot}(y).$$
#
# `mf.gbp_gradients` writes these lines out literally, for reading. Training uses the same
# equations as the hand-written backward pass of `mf.MeanFieldLinear` (one layer; fewer elementwise
# passes). `mf.reference_gradients` is the oracle: plain autograd through
# $z = G + \sqrt{\Delta}\,\epsilon$. We check both against
# it in float64, on a small random network with some $\pi$ exactly 0 or 1 and some $\Xi = 0$.

# %%
g = mf.generator(0)
small = mf.gbp.random_net((30, 12, 8, 4), generator=g)  # float64; some pi exactly 0 or 1, some xi = 0
xb = torch.rand(16, 30, generator=g, dtype=torch.float64)
yb = torch.randint(0, 4, (16,), generator=g)
eps = [torch.randn(16, n, generator=g, dtype=torch.float64) for n in small.widths[1:]]
auto = mf.reference_gradients(small, xb, yb, eps)  # autograd through z = G + sqrt(Delta) eps
candidates = {"closed form (mf.gbp_gradients)": mf.gbp_gradients(small, xb, yb, eps),
              "training (mf.MeanFieldLinear)": mf.reference_gradients(small, xb, yb, eps, fused=True)}
err = {}
for name, grads in candidates.items():
    for key in ("pi", "m", "xi"):
        for l in range(len(small.layers)):
            err[(name, f"{key}, layer {l + 1}")] = ((grads[key][l] - auto[key][l]).abs().max() / auto[key][l].abs().max()).item()
pd.Series(err, name="relative error vs autograd").unstack().map(lambda v: f"{v:.1e}")

# %% tags=["nbval-check-output"]
print("gBP (closed form and training path) equals autograd (relative error <= 1e-8):", max(err.values()) <= 1e-8)

# %% [markdown]
# ### The BP limit
#
# At $\pi = 0$ and $\Xi = 0$ every connection is a fixed weight $m$, $\Delta = 0$, and gBP reduces
# to ordinary backpropagation for a network with $1/\sqrt N$ scaling (the $10^{-20}$ under the square
# root only adds $10^{-10}\epsilon$ to each pre-activation).

# %%
lim = mf.MFNet(small.widths, dtype=torch.float64).init_(1.0, 0.0, 0.0, generator=mf.generator(3))  # pi = xi = 0
bp = mf.PlainNet(small.widths, dtype=torch.float64)
with torch.no_grad():
    for a, b in zip(lim.layers, bp.layers):
        b.weight.copy_(a.m)
torch.nn.functional.cross_entropy(bp(xb), yb).backward()
m_grads = mf.reference_gradients(lim, xb, yb, eps)["m"]
bp_err = max(((gm - b.weight.grad).abs().max() / b.weight.grad.abs().max()).item() for gm, b in zip(m_grads, bp.layers))

# %% tags=["nbval-check-output"]
print("at pi = 0, xi = 0 the m-gradients equal BP's (relative error <= 1e-8):", bp_err <= 1e-8)

# %% [markdown]
# ## 6. The projection, and why parameters land *exactly* on 0 or 1
#
# The recipe optimises $(\pi, m, \Xi)$ directly with Adam (no sigmoid or softplus) and, after every
# step, projects back onto the allowed set: $\pi \leftarrow \min(\max(\pi,0),1)$,
# $\Xi \leftarrow \max(\Xi, 0)$. Adam's step is $-\eta\,\hat g_t/(\sqrt{\hat v_t}+\varepsilon)$, with $\hat g_t$ and $\hat v_t$ its bias-corrected running means of the gradient and of its square: where
# the gradient keeps its sign, every step has size close to the learning rate $\eta$ (0.1 at the
# start), whatever the gradient's magnitude, and the very first step after Adam's state is reset
# has size $\eta$ (up to Adam's $\varepsilon$). A parameter pushed towards a boundary therefore
# overshoots it, and the projection puts it **exactly** on the boundary; as long as the push
# continues, it stays there. With plain gradient descent the step is proportional to the gradient,
# so parameters with small gradients creep towards a boundary instead of jumping onto it. So the exact counts of VIPs and UIPs in notebook 3 are a property of the
# optimiser (Adam, its learning-rate schedule, the reset of its state every epoch) as well as of the
# task; notebook 3 compares two recipes that differ in exactly such details. One more consequence:
# a connection from a pixel that is 0 in every training image gets zero gradient, so its $\pi$ stays
# exactly at its initial 0, its $m$ and $\Xi > 0$ only shrink by the weight decay, and it stays
# "variable" for a reason that has nothing to do with the task (section 8 checks both consequences).
#
# ## 7. Three ways to evaluate the trained ensemble
#
# - **sampled network**: draw every weight from $P(w)$ once and run that ordinary network, with no
#   noise; this is the paper's test metric, and the figures of notebooks 2 and 4 show its spread;
# - **noisy mean field**: the training forward pass, $z = G + \sqrt{\Delta}\,\epsilon$ with fresh $\epsilon$;
# - **eps = 0 mean field**: the same with $\epsilon = 0$, the network of mean weights $\mu$.
#
# Notebook 2 trains the ensemble and reports all three.
#
# ## 8. gBP from scratch: the whole training loop in plain torch
#
# Everything above in one short loop that uses neither `mfcredit` nor autograd, only torch tensors:
# the mean-field pass of section 4, the gradients of section 5 and the optimiser of section 6 (Adam
# with decoupled weight decay, the projection, Adam's reset and the halved learning rate at every
# epoch). It trains a small network, widths (784, 32, 16, 10), on the first 1,000 training images in
# float64 for 3 epochs of 10 steps, and at the end its parameters are compared with those `mf.train`
# learns on the same images from the same seed. To compare them number for number, the loop also
# draws its random numbers exactly as `mf.train` does.
#
# **The recipe and the initialisation.** The optimiser's and the initialisation's numbers are the
# paper recipe's (`mf.TrainConfig`'s defaults), except that the learning rate is halved after every
# epoch instead of every 20, so that the short run sees it happen. `mf.train` draws everything but
# the order of the examples from one generator seeded with `seed` (this notebook's parameter):
# first the initialisation, layer by layer, $m \sim$ `M_STD` $\cdot\,\mathcal N(0, 1)$ then
# $\Xi \sim$ `XI_MAX` $\cdot\,U(0, 1)$ (with $\pi = 0$); then, step after step, the noise $\epsilon$.

# %% tags=["from-scratch"]
F64, KEYS = torch.float64, ("pi", "m", "xi")
WIDTHS, N_TRAIN, BATCH, EPOCHS = (784, 32, 16, 10), 1000, 100, 3
LR, HALVE_EVERY, WD = 0.1, 1, 1e-4         # learning rate, halved every epoch; decoupled weight decay
BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8  # Adam
M_STD, XI_MAX = math.sqrt(2 / 784), 0.01   # m ~ M_STD N(0, 1), xi ~ XI_MAX U(0, 1), pi = 0
SQRT_EPS = 1e-20                           # under the square root of Delta
x_train, y_train = data.x_train[:N_TRAIN].to(F64), data.y_train[:N_TRAIN]


def init_params(g):
    """[{'pi', 'm', 'xi'}] per layer, each (N_l, N_{l-1}): m, then xi, from g, layer by layer."""
    params = []
    for n_in, n_out in zip(WIDTHS[:-1], WIDTHS[1:]):
        m = M_STD * torch.randn(n_out, n_in, generator=g, dtype=F64)
        xi = XI_MAX * torch.rand(n_out, n_in, generator=g, dtype=F64)
        params.append({"pi": torch.zeros(n_out, n_in, dtype=F64), "m": m, "xi": xi})
    return params

# %% [markdown]
# **The forward pass** (section 4). Per layer: the weight moments $\mu = (1-\pi)m$ and
# $\rho - \mu^2 = (1-\pi)(\Xi + \pi m^2)$; then $G = s\,a\mu^\top$ and $\Delta = s^2 a^2(\rho-\mu^2)^\top$
# for the whole batch at once, $s = 1/\sqrt{N_{l-1}}$; then $z = G + \sqrt{\Delta + 10^{-20}}\,\epsilon$
# with $\epsilon$ drawn fresh for every unit and example, layer after layer; ReLU on the hidden layers.
# It keeps what the backward pass needs.

# %% tags=["from-scratch"]
def forward(params, x, g):
    """Noisy mean-field pass of x (B, N_0): the logits z^L, and per layer (a, z, eps, sd, mu, var, s)."""
    a, cache = x, []
    for l, p in enumerate(params):
        s = 1 / math.sqrt(a.shape[1])
        mu = (1 - p["pi"]) * p["m"]                              # <w>
        var = (1 - p["pi"]) * (p["xi"] + p["pi"] * p["m"] ** 2)  # rho - mu^2
        G = s * a @ mu.T                                         # (B, N_l)
        Delta = s ** 2 * (a * a) @ var.T
        eps = torch.randn(G.shape, generator=g, dtype=F64)       # fresh for every unit and example
        sd = torch.sqrt(Delta + SQRT_EPS)
        z = G + sd * eps
        cache.append((a, z, eps, sd, mu, var, s))
        a = torch.relu(z) if l < len(params) - 1 else z
    return a, cache

# %% [markdown]
# **The backward pass** (section 5). At the output, $\delta^L = (\mathrm{softmax}(z^L) - \mathrm{onehot}(y))/B$;
# the $1/B$ of the batch mean is inside $\delta$ here, so the sums over the batch are plain sums. Then,
# from the top layer down, with $r_k = \delta_k\epsilon_k/\sigma_k = s\,\delta_k\epsilon_k/\sqrt{\Delta_k}$:
# the gradients with respect to $\pi$, $m$ and $\Xi$, and the error $\delta^{l-1}$ of the layer below,
# each one line of section 5's equations.

# %% tags=["from-scratch"]
def backward(params, cache, y):
    """gBP: [{'pi', 'm', 'xi'}] per layer, the gradients of the batch-mean cross-entropy."""
    z_out = cache[-1][1]
    B, C = z_out.shape
    delta = (torch.softmax(z_out, dim=1) - torch.eye(C, dtype=F64)[y]) / B  # dL/dz^L
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        a, z, eps, sd, mu, var, s = cache[l]
        pi, m, xi = (params[l][k] for k in KEYS)
        r = s * delta * eps / sd                 # delta_k eps_k / sigma_k, with sigma = sd / s
        da, ra2 = delta.T @ a, r.T @ (a * a)     # sum_b delta_k a_j,  sum_b r_k a_j^2
        grads[l] = {"pi": -s * (da * m + 0.5 * ra2 * ((2 * pi - 1) * m ** 2 + xi)),
                    "m": s * ((1 - pi) * da + ra2 * mu * pi),
                    "xi": s * 0.5 * ra2 * (1 - pi)}
        if l > 0:  # delta^{l-1} = f'(z^{l-1}) s sum_k [mu_ki delta_k + var_ki a_i r_k]
            fprime = (cache[l - 1][1] > 0).to(F64)  # ReLU' as float64 (bool * s would give float32)
            delta = fprime * s * (delta @ mu + a * (r @ var))
    return grads

# %% [markdown]
# **The optimiser** (section 6), AdamW. First the decoupled weight decay multiplies $m$ and $\Xi$ (not
# $\pi$) by $1 - \eta\lambda$ ($\eta$ the learning rate, $\lambda$ = `WD`). Then Adam: running means of
# the gradient and of its square, their bias towards the zeros they start from corrected ($t$ counts
# the steps since Adam's state was last reset), and the step $-\eta\,\hat g_t/(\sqrt{\hat v_t} + \varepsilon)$.
# Last, the projection: $\pi$ back into $[0, 1]$, $\Xi$ onto $\ge 0$. `decay_first=False` moves the
# decay after Adam's update, a wrong order that the comparison below has to catch.

# %% tags=["from-scratch"]
def new_adam(params):
    """Adam's state: the step count t and two running means per tensor, all zero."""
    zeros = [[{k: torch.zeros_like(p[k]) for k in KEYS} for p in params] for _ in range(2)]
    return {"t": 0, "avg": zeros[0], "avg_sq": zeros[1]}


def adamw_step(params, grads, adam, lr, decay_first=True):
    """One step on every tensor, in place: weight decay (m, xi), Adam, projection."""
    adam["t"] += 1
    t = adam["t"]
    for p, g, avg, avg_sq in zip(params, grads, adam["avg"], adam["avg_sq"]):
        for k in KEYS:
            decay = 1.0 if k == "pi" else 1 - lr * WD
            if decay_first:
                p[k].mul_(decay)                                   # AdamW: decay before Adam's update
            avg[k].mul_(BETA1).add_((1 - BETA1) * g[k])            # running mean of the gradient
            avg_sq[k].mul_(BETA2).add_((1 - BETA2) * g[k] ** 2)    # ... and of its square
            avg_hat, avg_sq_hat = avg[k] / (1 - BETA1 ** t), avg_sq[k] / (1 - BETA2 ** t)  # bias correction
            p[k].sub_(lr * avg_hat / (avg_sq_hat.sqrt() + ADAM_EPS))
            if not decay_first:
                p[k].mul_(decay)                                   # the wrong order
        p["pi"].clamp_(0, 1)                                       # projection
        p["xi"].clamp_(min=0)

# %% [markdown]
# **One epoch, and the whole run.** `mf.train` shuffles with `torch.utils.data.RandomSampler` on a
# generator of its own, seeded `seed + 1`. Each pass over the data is one `torch.randperm`, and at the
# end of the pass the sampler draws one more permutation, of which it uses nothing (it would serve a
# last, partial pass); the loop draws it too (checked in the next cell). Every epoch runs at learning
# rate $\eta_0\,2^{-\text{epoch}}$ and starts with a fresh Adam; `reset_adam=False` keeps one Adam for
# the whole run, the second wrong variant.

# %% tags=["from-scratch"]
def one_epoch(params, adam, lr, g_noise, g_shuffle, decay_first=True):
    """One pass over the shuffled training images; returns the mean training loss."""
    order = torch.randperm(N_TRAIN, generator=g_shuffle)
    torch.randperm(N_TRAIN, generator=g_shuffle)  # the sampler's extra draw at the end of a pass, unused
    total = 0.0
    for start in range(0, N_TRAIN, BATCH):
        idx = order[start:start + BATCH]
        logits, cache = forward(params, x_train[idx], g_noise)
        total += -torch.log_softmax(logits, dim=1)[torch.arange(len(idx)), y_train[idx]].sum().item()
        adamw_step(params, backward(params, cache, y_train[idx]), adam, lr, decay_first)
    return total / N_TRAIN


def train_from_scratch(seed, decay_first=True, reset_adam=True):
    """The whole run: (parameters, mean training loss of every epoch)."""
    g_noise = torch.Generator().manual_seed(seed)        # the initialisation, then every eps
    g_shuffle = torch.Generator().manual_seed(seed + 1)  # the order of the examples
    params, adam, losses = init_params(g_noise), None, []
    for epoch in range(EPOCHS):
        lr = LR * 0.5 ** (epoch // HALVE_EVERY)
        if adam is None or reset_adam:
            adam = new_adam(params)                      # Adam's state reset at every epoch
        losses.append(one_epoch(params, adam, lr, g_noise, g_shuffle, decay_first))
    return params, losses

# %% tags=["from-scratch"]
from torch.utils.data import BatchSampler, RandomSampler

sampler = BatchSampler(RandomSampler(range(N_TRAIN), generator=torch.Generator().manual_seed(seed + 1)), BATCH, False)
g_check, same_order = torch.Generator().manual_seed(seed + 1), True
for epoch in range(EPOCHS):
    ours = torch.randperm(N_TRAIN, generator=g_check).tolist()
    torch.randperm(N_TRAIN, generator=g_check)
    same_order &= [i for batch in sampler for i in batch] == ours
mf.nb.check(same_order, "the loop's permutations are mf.train's batches, epoch after epoch")
print("same order of examples as mf.train's sampler in every epoch:", same_order)

# %% [markdown]
# **The comparison.** The same recipe as an `mf.TrainConfig`, trained by `mf.train` on the same
# images from the same seed. Both run in float64 but compute the same sums in different orders (and
# `mf.train` uses the hand-written backward of `mf.MeanFieldLinear`, not these lines), so they agree
# up to rounding, amplified by the training: Adam divides each gradient by
# $\sqrt{\hat v_t} + \varepsilon$, $\varepsilon = 10^{-8}$, so where a gradient is close to 0 a
# rounding difference in it enters the step multiplied by as much as $1/\varepsilon = 10^{8}$. The
# measure is, per tensor, the largest absolute difference over the largest absolute value of
# `mf.train`'s tensor, then the worst tensor; the tolerance is $10^{-10}$. The two wrong variants
# must miss it. `mf.train` runs through `mf.sweep` (in a worker process, with one thread) and a
# throwaway cache, so it trains afresh every time this cell runs.

# %% tags=["from-scratch"]
import tempfile

TOL = 1e-10
config = mf.TrainConfig(widths=WIDTHS, n_train=N_TRAIN, batch_size=BATCH, epochs=EPOCHS, lr=LR,
                        lr_halve_every=HALVE_EVERY, weight_decay=WD, adam_betas=(BETA1, BETA2), adam_eps=ADAM_EPS,
                        init_m_std=M_STD, init_xi=XI_MAX, eval_every=EPOCHS, dtype="float64")
with tempfile.TemporaryDirectory() as throwaway:  # an empty cache: trained afresh
    reference = mf.sweep([(config, seed)], cache_dir=throwaway)[0]
mf.nb.check(config.replace(lr_halve_every=20) == mf.TrainConfig(widths=(784, 32, 16, 10), n_train=1000, batch_size=100,
            epochs=3, eval_every=3, dtype="float64"), "widths (784, 32, 16, 10), 1,000 images, 3 epochs of 10 steps; "
            "the paper recipe's optimiser and initialisation, but the learning rate halved every epoch")
mf.nb.check(reference.metrics["lr"] == [LR * 0.5 ** e for e in range(EPOCHS)] and all(reference.metrics["adam_fresh"]),
            "mf.train's run halves the learning rate every epoch and starts every epoch with a fresh Adam")
print("mf.train's learning rate per epoch:", reference.metrics["lr"], "fresh Adam:", reference.metrics["adam_fresh"])

# %% tags=["from-scratch"]
def largest_difference(params):
    """Worst tensor's max |ours - mf.train's| / max |mf.train's|."""
    return max(((p[k] - reference.params[k][l]).abs().max() / reference.params[k][l].abs().max()).item()
               for l, p in enumerate(params) for k in KEYS)


scratch, scratch_losses = train_from_scratch(seed)
scratch_diff = largest_difference(scratch)
variants = {"decay after Adam's update": largest_difference(train_from_scratch(seed, decay_first=False)[0]),
            "no Adam reset": largest_difference(train_from_scratch(seed, reset_adam=False)[0])}
print(f"from scratch vs mf.train: largest relative difference {scratch_diff:.1e} (tolerance {TOL:.0e})")
print("wrong variants:", "; ".join(f"{k} {v:.1e}" for k, v in variants.items()))
print("training loss per epoch: from scratch", [round(v, 9) for v in scratch_losses],
      "mf.train", [round(v, 9) for v in reference.metrics["train_loss"]])
mf.nb.check(scratch_diff <= TOL, "the loop's parameters equal mf.train's to a relative 1e-10")
mf.nb.check(min(variants.values()) > TOL, "moving the decay after Adam, or keeping Adam's state, misses the tolerance")

# %% [markdown]
# **Section 6, checked on this run.** The connections from pixels that are 0 in all 1,000 images get
# no gradient: Adam's step is then exactly 0, so their $\pi$ should still be exactly 0 and their $m$
# and $\Xi$ their initial values times the weight decay's factors. And the projection should already
# have put parameters exactly on the boundaries.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
first, start = scratch[0], init_params(torch.Generator().manual_seed(seed))[0]
dead = x_train.sum(0) == 0  # the pixels that are 0 in every one of these images
shrink = math.prod((1 - LR * 0.5 ** (e // HALVE_EVERY) * WD) ** (N_TRAIN // BATCH) for e in range(EPOCHS))
untouched = bool((first["pi"][:, dead] == 0).all()) and all(
    torch.allclose(first[k][:, dead], start[k][:, dead] * shrink, rtol=1e-12, atol=0) for k in ("m", "xi"))
mf.nb.check(untouched, "the connections from always-blank pixels keep pi = 0; m and Xi only shrink by the decay")
on_edge = {"Xi = 0": (first["xi"][:, ~dead] == 0).double().mean().item(),
           "pi = 1": (first["pi"][:, ~dead] == 1).double().mean().item(),
           "0 < pi < 1": ((first["pi"][:, ~dead] > 0) & (first["pi"][:, ~dead] < 1)).double().mean().item()}
mf.nb.check(on_edge["Xi = 0"] > 0, "the projection puts some Xi exactly on 0 within the short run")
mf.nb.show_markdown(
    f"In the from-scratch run the {int(dead.sum())} always-blank pixels' connections kept $\\pi = 0$ exactly, and their "
    f"$m$ and $\\Xi$ are their initial values times {shrink:.7f}, the product of the {EPOCHS * N_TRAIN // BATCH} decay "
    f"factors (relative tolerance $10^{{-12}}$). Of the first layer's connections from the other pixels, after "
    f"{EPOCHS * N_TRAIN // BATCH} steps {100 * on_edge['Xi = 0']:.1f}% have $\\Xi$ exactly 0 and "
    f"{100 * on_edge['pi = 1']:.1f}% have $\\pi$ exactly 1; {100 * on_edge['0 < pi < 1']:.1f}% have $\\pi$ strictly "
    "between 0 and 1.")

# %% tags=["hide-input"] jupyter={"source_hidden": true}
saved = mf.nb.save_results("theory", {
    "clt": clt.to_dict(orient="records"), "gbp_max_relative_error": max(err.values()), "bp_limit_relative_error": bp_err,
    "logit_true_class": logit, "logit_shape": {"ks_raw": [ks_raw.statistic, ks_raw.pvalue],
                                               "ks_standardised": [ks_shape.statistic, ks_shape.pvalue],
                                               "excess_kurtosis": kurt, "skewness": skew},
    "from_scratch": {"largest_relative_difference": scratch_diff, "tolerance": TOL, "wrong_variants": variants}})
print("wrote", saved.relative_to(mf.nb.ROOT))

# %% [markdown]
# ## What we learned

# %% tags=["hide-input"] jupyter={"source_hidden": true}
untr = clt[clt.net == "untrained"]
mf.nb.show_markdown(f"""
- The mean field's $(G, \\Delta)$ are the exact mean and variance of every pre-activation: standardised
  samples have mean within {clt['mean'].abs().max():.3f} of 0 and variance within
  {(clt['var'] - 1).abs().max():.3f} of 1 in every layer, trained or not.
- The Gaussian *shape*: exact at initialisation, where every weight is Gaussian (|excess kurtosis| ≤ {untr['excess kurtosis'].abs().max():.3f},
  sampling noise); after training, the largest excess kurtosis is {worst['excess kurtosis']:.1f} ({worst['net']} layer {worst['layer']}),
  {'far from a Gaussian' if abs(worst['excess kurtosis']) > 1 else 'still close to a Gaussian'}. At the output, sampled sub-networks give the true-class logit
  {logit['sampled'][0]:.2f} ± {logit['sampled'][1]:.2f}, the noisy mean field {logit['mean field'][0]:.2f} ± {logit['mean field'][1]:.2f};
  in shape, excess kurtosis {kurt['sampled']:.2f} against {kurt['mean field']:.2f}, Kolmogorov-Smirnov
  D = {ks_shape.statistic:.3f} between the standardised values (p ≈ {ks_shape.pvalue:.2g}). The two shape checks
  look at different things: the kurtosis pools the pre-activations of all units of one hidden layer for one image,
  the logit check is one output unit for one image. A heavy-tailed hidden layer need not make a heavy-tailed output,
  which sums a hundred hidden units; the same comparison over many images, unit by unit, would be the stronger test.
- gBP is the gradient of the mean-field loss: both implementations agree with autograd to a relative
  {max(err.values()):.1e}, and at $\\pi = 0, \\Xi = 0$ it is backpropagation (relative difference {bp_err:.1e}).
- The whole recipe fits in a few short functions of plain torch: written from the equations, with
  AdamW's order, the projection and the per-epoch reset, they reproduce `mf.train`'s parameters to a
  relative {scratch_diff:.1e} after {EPOCHS * N_TRAIN // BATCH} steps; the decay moved after Adam's update
  gives {variants["decay after Adam's update"]:.1e}, Adam never reset {variants['no Adam reset']:.1e}.
""")

# %% [markdown]
# ## Try it
#
# Each runs in a few seconds once the cells above have run; its solution is folded under it.
#
# 1. **Two laws at the edges.** What are the categories and entropies of $(\pi, m, \Xi) = (1, 2, 0.5)$
#    and $(0, 0.4, 0)$? (`draw_pw(pi, m, xi)` draws either.) *Expect:* a UIP and a VIP, each with
#    entropy 0: a connection that is never there and one that is always 0.4 are both certain.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("01-theory", 1, globals())

# %% [markdown]
# 2. **The moment formulas by Monte Carlo.** Sample 200,000 weights with $(\pi, m, \Xi) = (0.3, 1, 0.25)$
#    and compare their mean and variance with $\mu$ and $\rho - \mu^2$. *Expect:* agreement within
#    about two Monte Carlo standard errors, that is to about $10^{-3}$.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("01-theory", 2, globals())

# %% [markdown]
# 3. **How does the Gaussian shape depend on the fan-in?** Rerun the central-limit check on two
#    untrained networks, 784-100-100-10 and 784-10-10-10, whose connections all follow the same law
#    ($m \sim \mathcal N(0, 1)$, $\Xi \sim 0.5\,U(0, 1)$, $\pi = 0.3$): what differs is the fan-in of
#    layers 2 and 3, 100 against 10 (and with it the inputs their sums run over). The table's
#    untrained network will not do: with $\pi = 0$ every weight is Gaussian, so its pre-activations
#    are exactly Gaussian at any fan-in. *Expect:* layer 1
#    (fan-in 784 in both) close to Gaussian in both; in layers 2 and 3 an excess kurtosis further from
#    0 at fan-in 10, since that of a sum of $N$ independent terms shrinks like $1/N$. Its sign is for
#    you to find.

# %% tags=["hide-input"] jupyter={"source_hidden": true}
mf.nb.solution("01-theory", 3, globals())

# %%
mf.nb.versions()
