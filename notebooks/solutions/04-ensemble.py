# %% 1
e = all_errors[0]
means = {"first 5": e[:5].mean(), "first 20": e[:20].mean(), f"all {len(e)}": e.mean()}
print({k: round(float(v), 3) for k, v in means.items()})
# interpretation
gaps = [abs(v - e.mean()) for v in means.values()]
answer = (f"The mean of five sub-networks is {gaps[0]:.3f} points from the mean of all {len(e)}, the mean of twenty "
          f"{gaps[1]:.3f}: with a spread of {e.std(ddof=1):.2f} points between sub-networks, a few of them give the "
          "ensemble's error to within a tenth of a point.")

# %% 2
r2 = {layer: mf.perturbation(runs[0].params, data.x_test, data.y_test, fractions=[0, 0.5, 1], n_samples=4, layer=layer,
                             curves=("vip_removal", "matched_removal"), generator=mf.generator(1)) for layer in (0, 1)}
for layer, r in r2.items():
    print(f"weight layer {layer + 1}: {r['counts']['VIP']} VIPs; remove VIPs",
          [round(m, 2) for m, _ in r["vip_removal"]], "; matched control", [round(m, 2) for m, _ in r["matched_removal"]])
# interpretation
rise = {layer: r["vip_removal"][-1][0] - r["unperturbed"][0] for layer, r in r2.items()}
noise = r2[1]["vip_removal"][-1][1] / 4 ** 0.5  # the standard error of one point: sd over 4 sub-networks / 2
answer = (f"Seed 0's second layer has {r2[1]['counts']['VIP']} VIPs, its first {r2[0]['counts']['VIP']}. Removing all of "
          f"them changes the error by {rise[1]:+.2f} points in the second layer and {rise[0]:+.2f} in the first, each the "
          f"mean of 4 sampled sub-networks; one such point is uncertain by about {noise:.2f} points. In the second layer, "
          "removing the VIPs " + ("hurts, but less than in the first." if noise * 2 < rise[1] < rise[0] else
                                  "hurts at least as much as in the first." if rise[1] >= rise[0] and rise[1] > 2 * noise else
                                  "does not measurably hurt: the expected smaller rise is no rise at all."))

# %% 3
import torch

sub = runs[0].network().sample(mf.generator(42))
with torch.no_grad():
    err = 100 * (sub(data.x_test).argmax(1) != data.y_test).double().mean().item()
print(type(sub).__name__, f"{err:.2f} %")
# interpretation
lo, hi = ens.loc[0, "sampled min"], ens.loc[0, "sampled max"]
answer = (f"This sub-network errs on {err:.2f} % of the test images; the {n_networks} sampled for seed 0 above span "
          f"{lo:.2f}–{hi:.2f} %, so it is {'inside' if lo <= err <= hi else 'outside'} that range.")
