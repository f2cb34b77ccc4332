# %% 1
p = trained[0].params
S1 = mf.connection_entropy(p["pi"][0], p["m"][0], p["xi"][0], n_mc=n_mc, generator=mf.generator(0))
H1 = mf.entropy.quantised_entropy(p["pi"][0], p["m"][0], p["xi"][0], 0.01)
c = mf.categories(p["pi"][0], p["xi"][0])
by_kind = {name: (S1[c == k].mean().item(), H1[c == k].mean().item(), int((c == k).sum()))
           for k, name in enumerate(("VIP", "UIP", "variable"))}
for name, (s_, h_, n_) in by_kind.items():
    print(f"{name:8s} ({n_:6d} connections): paper's S {s_:+.3f}, quantised H {h_:.3f}")
# interpretation
answer = (f"VIPs and UIPs have an entropy of {by_kind['VIP'][0]:.1f} and {by_kind['UIP'][0]:.1f} under the paper's "
          f"estimator and {by_kind['VIP'][1]:.1f} and {by_kind['UIP'][1]:.1f} quantised: a fixed weight and an absent one are "
          f"certain. The variable connections are the only ones whose entropy is not 0: {by_kind['variable'][0]:+.3f} (paper's) "
          f"and {by_kind['variable'][1]:.3f} nats (quantised) on average. The paper's value is "
          f"{'negative, because narrow slabs have a negative differential entropy: on that scale uncertainty does not add up like a count' if by_kind['variable'][0] < 0 else 'positive'}.")

# %% 2
import torch

t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
xis = t(2e-8, 1e-8, 0.0)
S_jump = mf.connection_entropy(t(0.0, 0.0, 0.0), t(0.5, 0.5, 0.5), xis, generator=mf.generator(0))
H_jump = mf.entropy.quantised_entropy(t(0.0, 0.0, 0.0), t(0.5, 0.5, 0.5), xis, 0.01)
for xi_, s_, h_ in zip(xis.tolist(), S_jump.tolist(), H_jump.tolist()):
    print(f"Xi = {xi_:.0e}: paper's S {s_:+.3f}, quantised H {h_:.6f}")
# interpretation
answer = (f"The paper's estimator falls from {S_jump[1]:.1f} to {S_jump[0]:.1f} nats when Xi crosses 1e-8, a jump of "
          f"{abs(S_jump[0] - S_jump[1]):.1f} nats for a change of Xi that no sampled weight could reveal; the quantised "
          f"entropy moves by {abs(H_jump[0] - H_jump[1]):.1e} nats: a slab of sd {xis[0].sqrt().item():.1e} sits inside one bin "
          "of width 0.01.")
