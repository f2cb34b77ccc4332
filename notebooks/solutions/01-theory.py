# %% 1
edges = {}
for pi_, m_, xi_ in [(1.0, 2.0, 0.5), (0.0, 0.4, 0.0)]:
    S_ = mf.connection_entropy(torch.tensor([pi_]), torch.tensor([m_]), torch.tensor([xi_]), generator=mf.generator(0))
    edges[(pi_, m_, xi_)] = (category(pi_, xi_), S_.item())
    print(f"(pi, m, Xi) = ({pi_}, {m_}, {xi_}): {edges[(pi_, m_, xi_)][0]}, entropy S = {S_.item():.3f}")
# interpretation
(c1, s1), (c2, s2) = edges.values()
answer = (f"$(1, 2, 0.5)$ is a {c1} with entropy {s1:.3f}: with $\\pi = 1$ the slab is never drawn, so $m$ and $\\Xi$ "
          f"do not matter. $(0, 0.4, 0)$ is a {c2} with entropy {s2:.3f}: always present, always 0.4. "
          + ("Both laws are certain, so neither carries entropy." if s1 == s2 == 0 else
             "They do not both get zero entropy: look at how `mf.connection_entropy` treats the edges."))

# %% 2
g_mc = mf.generator(5)
pi_, m_, xi_, n_mc = 0.3, 1.0, 0.25, 200_000
present = torch.rand(n_mc, generator=g_mc, dtype=torch.float64) >= pi_
w_mc = present * (m_ + xi_ ** 0.5 * torch.randn(n_mc, generator=g_mc, dtype=torch.float64))
mu_, var_ = (1 - pi_) * m_, (1 - pi_) * (m_ ** 2 + xi_) - ((1 - pi_) * m_) ** 2
se_mean, se_var = w_mc.std().item() / n_mc ** 0.5, ((w_mc - w_mc.mean()) ** 2).std().item() / n_mc ** 0.5
print(f"mean: sampled {w_mc.mean().item():.5f}, mu = {mu_:.5f} (standard error {se_mean:.5f})")
print(f"variance: sampled {w_mc.var().item():.5f}, rho - mu^2 = {var_:.5f} (standard error {se_var:.5f})")
# interpretation
z_mean, z_var = (w_mc.mean().item() - mu_) / se_mean, (w_mc.var().item() - var_) / se_var
answer = (f"The sampled mean is {z_mean:+.2f} standard errors from $\\mu$ and the sampled variance {z_var:+.2f} from "
          f"$\\rho - \\mu^2$: " + ("both within the scatter expected of 200,000 draws, as the formulas predict."
                                   if max(abs(z_mean), abs(z_var)) < 3 else
                                   "more than 3 standard errors off, which the formulas do not predict."))

# %% 3
law = (1.0, 0.5, 0.3)  # m ~ 1.0 N(0, 1), xi ~ 0.5 U(0, 1), pi = 0.3 for every connection of both networks
kurt_fan_in = {}
for widths in [(784, 100, 100, 10), (784, 10, 10, 10)]:
    net_ = mf.MFNet(widths).init_(*law, generator=mf.generator(1))
    samples = standardised_samples(net_, x, mf.generator(2), n=2000)  # 2,000 weight draws per layer
    kurt_fan_in[widths[1]] = [moments(t)["excess kurtosis"] for t in samples]
    print("-".join(map(str, widths)) + ": excess kurtosis of layers 1, 2, 3:",
          [round(k, 3) for k in kurt_fan_in[widths[1]]])
# interpretation
wide_k, narrow_k = kurt_fan_in[100], kurt_fan_in[10]
further = [abs(narrow_k[l]) > abs(wide_k[l]) for l in (1, 2)]
answer = (f"Layer 1 (fan-in 784 in both) has excess kurtosis {wide_k[0]:.3f} and {narrow_k[0]:.3f}. At fan-in 10 "
          f"instead of 100, layer 2's is {narrow_k[1]:.3f} against {wide_k[1]:.3f}, layer 3's {narrow_k[2]:.3f} against "
          f"{wide_k[2]:.3f}: "
          + ("the narrower sums are the further from a Gaussian, as the central limit theorem says"
             if all(further) else "the narrower sums are not clearly further from a Gaussian here")
          + (". The excess kurtosis is negative, lighter tails than a Gaussian: a weight that is either absent or "
             "close to its own m is nearer to a two-valued variable than to a Gaussian one."
             if narrow_k[1] < 0 and narrow_k[2] < 0 else "."))
