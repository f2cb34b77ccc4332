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
r2 = mf.perturbation(runs[0].params, data.x_test, data.y_test, fractions=[0, 0.5, 1], n_samples=2, layer=1,
                     curves=("vip_removal", "matched_removal"), generator=mf.generator(1))
print("second layer:", r2["counts"])
print("remove VIPs:", [round(m, 2) for m, _ in r2["vip_removal"]])
print("matched control:", [round(m, 2) for m, _ in r2["matched_removal"]])
# interpretation
rise2 = r2["vip_removal"][-1][0] - r2["unperturbed"][0]
answer = (f"The second layer of seed 0 has {r2['counts']['VIP']} VIPs (the first: {counts.loc[0, 'VIP']}); removing all "
          f"of them raises the error by {rise2:+.2f} points, against {delta['vip_removal']:+.2f} for the first layer's "
          f"(mean over seeds), and the matched control by {r2['matched_removal'][-1][0] - r2['unperturbed'][0]:+.2f}.")

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
