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


def standardised_samples(net, x, g):
    """Per layer: sampled z for a fixed layer input (the eps = 0 activity of the layers below),
    standardised with the mean-field (G, Delta) of each unit; units with Delta ~ 0 are skipped."""
    out, a = [], x
    for layer in net.layers:
        G, Delta = (t[0] for t in layer.field(a[None]))
        z = mf.ensemble.layer_samples(layer.pi.detach(), layer.m.detach(), layer.xi.detach(), a, n_samples, g)
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

# %%
worst = clt.loc[clt["excess kurtosis"].abs().idxmax()]
mf.nb.show_markdown(
    f"Mean and variance are {clt['mean'].abs().max():.3f} and {clt['var'].min():.3f}–{clt['var'].max():.3f} "
    f"at worst (0 and 1 expected): $(G, \\Delta)$ are the exact moments in every layer. For the shape, "
    f"the excess kurtosis (0 for a Gaussian): untrained, the largest |excess kurtosis| is "
    f"{clt[clt.net == 'untrained']['excess kurtosis'].abs().max():.3f}. After "
    f"training it reaches **{worst['excess kurtosis']:.1f}** in {worst['net']} layer {worst['layer']} "
    f"({worst['units']} units, skewness {worst['skew']:.2f}). "
    + ("A few large weights dominate those sums, and there the Gaussian approximation is poor: the "
       "mean field is a good model of the other layers, and only a rough one of this one."
       if abs(worst["excess kurtosis"]) > 1 else
       "That is still close to Gaussian: in this run the approximation holds in every layer."))

# %% [markdown]
# ### The whole network: sampled sub-networks vs the noisy mean-field pass
#
# Deeper layers of the mean-field pass see the *noisy* activity of the layer below, while a sampled
# network sees its own sampled activity, so the mean-field output is an approximation on top of an
# approximation. We compare the logit of the true class for the same image.

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
# $z = G + \sqrt{\Delta}\,\epsilon$ (the unit tests use the same function). We check both against
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

# %%
# NBVAL_CHECK_OUTPUT
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

# %%
# NBVAL_CHECK_OUTPUT
print("at pi = 0, xi = 0 the m-gradients equal BP's (relative error <= 1e-8):", bp_err <= 1e-8)

# %% [markdown]
# ## 6. The projection, and why parameters land *exactly* on 0 or 1
#
# The recipe optimises $(\pi, m, \Xi)$ directly with Adam (no sigmoid or softplus) and, after every
# step, projects back onto the allowed set: $\pi \leftarrow \min(\max(\pi,0),1)$,
# $\Xi \leftarrow \max(\Xi, 0)$. Adam's step is $-\eta\,\hat m_t/(\sqrt{\hat v_t}+\varepsilon)$: where
# the gradient keeps its sign, every step has size close to the learning rate $\eta$ (0.1 at the
# start), whatever the gradient's magnitude, and the very first step after Adam's state is reset
# has size $\eta$ (up to Adam's $\varepsilon$). A parameter pushed towards a boundary therefore
# overshoots it, and the projection puts it **exactly** on the boundary; as long as the push
# continues, it stays there. With plain gradient descent the step is proportional to the gradient,
# so parameters with small gradients creep towards a boundary instead of jumping onto it. So the exact counts of VIPs and UIPs in notebook 3 are a property of the
# optimiser (Adam, its learning-rate schedule, the reset of its state every epoch) as well as of the
# task; notebook 3 compares two recipes that differ in exactly such details. One more consequence:
# a connection from a pixel that is 0 in every training image gets zero gradient, so it never moves
# from its initial $\pi = 0$ and $\Xi > 0$ and stays "variable" for a reason that has nothing to do
# with the task.
#
# ## 7. Three ways to evaluate the trained ensemble
#
# - **sampled network**: draw every weight from $P(w)$ once and run that ordinary network, with no
#   noise; this is the paper's test metric, and the figures of notebooks 2 and 4 show its spread;
# - **noisy mean field**: the training forward pass, $z = G + \sqrt{\Delta}\,\epsilon$ with fresh $\epsilon$;
# - **eps = 0 mean field**: the same with $\epsilon = 0$, the network of mean weights $\mu$.
#
# Notebook 2 trains the ensemble and reports all three.

# %%
saved = mf.nb.save_results("theory", {"clt": clt.to_dict(orient="records"), "gbp_max_relative_error": max(err.values()),
                                      "bp_limit_relative_error": bp_err, "logit_true_class": logit})
print("wrote", saved.relative_to(mf.nb.ROOT))

# %% [markdown]
# ## What we learned

# %%
untr = clt[clt.net == "untrained"]
mf.nb.show_markdown(f"""
- The mean field's $(G, \\Delta)$ are the exact mean and variance of every pre-activation: standardised
  samples have mean within {clt['mean'].abs().max():.3f} of 0 and variance within
  {(clt['var'] - 1).abs().max():.3f} of 1 in every layer, trained or not.
- The Gaussian *shape* holds for the random initial network (|excess kurtosis| ≤ {untr['excess kurtosis'].abs().max():.3f});
  after training the largest excess kurtosis is {worst['excess kurtosis']:.1f} ({worst['net']} layer {worst['layer']}),
  {'far from a Gaussian' if abs(worst['excess kurtosis']) > 1 else 'still close to a Gaussian'}. At the output, sampled sub-networks give the true-class logit
  {logit['sampled'][0]:.2f} ± {logit['sampled'][1]:.2f}, the noisy mean field {logit['mean field'][0]:.2f} ± {logit['mean field'][1]:.2f}.
- gBP is the gradient of the mean-field loss: both implementations agree with autograd to a relative
  {max(err.values()):.1e}, and at $\\pi = 0, \\Xi = 0$ it is backpropagation (relative difference {bp_err:.1e}).
""")

# %% [markdown]
# ## Try it
#
# Each runs in a few seconds once the cells above have run (set `quick = True` for speed).
#
# 1. Draw $P(w)$ for $(\pi, m, \Xi) = (1, 2, 0.5)$ and for $(0, 0.4, 0)$. Which categories are they,
#    and what entropy does each get?
#
#    <details><summary>Solution</summary>
#
#    ```python
#    draw_pw(1.0, 2.0, 0.5)   # UIP: the slab is never drawn; S = 0
#    draw_pw(0.0, 0.4, 0.0)   # VIP: a fixed weight 0.4; S = 0
#    ```
#    </details>
#
# 2. Check the moment formulas by Monte Carlo: sample 200,000 weights with $(\pi, m, \Xi) = (0.3, 1, 0.25)$
#    and compare their mean and variance with $\mu$ and $\rho - \mu^2$.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    g = mf.generator(5)
#    pi_, m_, xi_ = 0.3, 1.0, 0.25
#    present = torch.rand(200_000, generator=g) >= pi_
#    w = present * (m_ + xi_ ** 0.5 * torch.randn(200_000, generator=g))
#    mu, rho = (1 - pi_) * m_, (1 - pi_) * (m_ ** 2 + xi_)
#    print(w.mean().item(), mu, w.var().item(), rho - mu ** 2)
#    ```
#    </details>
#
# 3. How does the Gaussian shape depend on the fan-in? Rerun the central-limit check on an untrained
#    network 784-10-10-10 and compare the excess kurtosis of layer 2 (fan-in 10) with the table above.
#
#    <details><summary>Solution</summary>
#
#    ```python
#    narrow = mf.MFNet((784, 10, 10, 10)).init_(1.0, 0.5, 0.3, generator=mf.generator(1))
#    print([moments(t)["excess kurtosis"] for t in standardised_samples(narrow, x, mf.generator(2))])
#    ```
#    </details>

# %%
mf.nb.versions()
