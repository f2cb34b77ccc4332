# %% 1
g0 = runs[(("pixels", "redrawn"), "gbp", 0)]
pi0 = g0.params["pi"][0].flatten()
q = torch.tensor([0.1, 0.25, 0.5, 0.75, 0.9], dtype=pi0.dtype)
quant = pd.DataFrame({"planted pixels": torch.quantile(pi0[unneeded_px], q).numpy(),
                      "live real pixels": torch.quantile(pi0[needed_px], q).numpy()}, index=[f"{v:.0%}" for v in q.tolist()])
print(quant.round(3))
# interpretation
med_p, med_r = quant.loc["50%", "planted pixels"], quant.loc["50%", "live real pixels"]
answer = (f"The median pi of a planted pixel's connection is {med_p:.3f}, of a live real pixel's {med_r:.3f}: the planted "
          f"ones {'sit higher' if med_p > med_r else 'do not sit higher'}, and "
          f"{100 * (pi0[unneeded_px] == 1).double().mean().item():.1f} % of them reach pi = 1 exactly.")

# %% 2
gt = runs[(("teacher", max(teacher_sizes)), "gbp", 0)]
per_input = (1 - gt.params["pi"][0]).mean(0)  # (200,): the mean credit of each input
lowest = torch.argsort(per_input)[:100]
ignored = int((~used[lowest]).sum())
print(f"{ignored} of the 100 inputs with the lowest mean credit are ignored by the teacher "
      f"(AUROC at the input level: {mf.calibration.auroc(per_input[~used], per_input[used]):.3f})")
# interpretation
answer = (f"{ignored} of the 100 lowest-credited inputs are ones the teacher ignores, against 50 expected by chance: averaged "
          f"over its 100 connections, the credit {'separates' if ignored > 60 else 'barely separates'} the inputs.")
