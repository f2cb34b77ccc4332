# %% 1
c = np.asarray(curves["gBP, one sampled sub-network"][1], dtype=float).mean(0)
points = {e: float(c[e - 1]) for e in sorted({min(10, epochs), min(50, epochs), epochs})}
print({f"epoch {e}": round(v, 2) for e, v in points.items()})
# interpretation
e0, e_end = min(points), max(points)
answer = (f"At epoch {e0} the error is {points[e0]:.2f} %, at the end {points[e_end]:.2f} %: the first {e0} epochs do "
          f"{100 * (c[0] - points[e0]) / max(c[0] - points[e_end], 1e-9):.0f} % of the descent from epoch 1's {c[0]:.2f} %.")

# %% 2
short = min(epochs, 10)
v, p_ = mf.sweep([(mf.recipe_2022(epochs=short, n_train=n_train, batch_size=batch_size), 0),
                  (gbp_cfg.replace(epochs=short), 0)])
for name, r in (("2022 variant", v), ("paper recipe", p_)):
    print(f"{name}, {short} epochs:", {k: round(r.final(k), 2) for k in ("sampled", "mf_noisy", "mf_mean")})
# interpretation
gap2 = v.final("mf_mean") - p_.final("mf_mean")
answer = (f"After {short} epochs each, the 2022 variant's eps = 0 error is {gap2:+.2f} points from the paper recipe's, "
          f"from one seed each: without more seeds this is not yet a difference between the recipes. Within {short} epochs "
          "the two learning-rate schedules are "
          + (f"the same (the paper's first halving comes after epoch {gbp_cfg.lr_halve_every})"
             if gbp_cfg.lr_halve_every >= short else "already different")
          + "; Adam's reset and the weight decay on pi differ from the start.")

# %% 3
cfg3 = mf.TrainConfig(epochs=min(epochs, 20), n_train=min(2000, n_train), batch_size=batch_size)
g3, b3 = mf.sweep([(cfg3, 0), (cfg3.bp_baseline(), 0)])
print(f"{cfg3.n_train:,} images, {cfg3.epochs} epochs: gBP sampled {g3.final('sampled'):.2f} %, BP {b3.final('mf_mean'):.2f} %")
# interpretation
answer = (f"With {cfg3.n_train:,} images and {cfg3.epochs} epochs, gBP's sampled sub-network errs on {g3.final('sampled'):.2f} % "
          f"and BP on {b3.final('mf_mean'):.2f} % ({g3.final('sampled') - b3.final('mf_mean'):+.2f} points for gBP), against "
          f"{g_m:.2f} % and {b_m:.2f} % with {n_train:,} images and {epochs} epochs. The batch size is the same; the "
          "number of epochs is not, so part of the difference is training length, not data.")
