# %% 1
robust = {t: mf.category_fractions(runs["paper 2020"][0].params, t)[0] for t in (0.0, 1e-6, 1e-3, 1e-1)}
for t, row in robust.items():
    print(f"tol {t:g}: VIP {100 * row['VIP']:.2f} %, UIP {100 * row['UIP']:.2f} %")
# interpretation
v0, v1 = 100 * robust[0.0]["VIP"], 100 * robust[1e-1]["VIP"]
u0, u1 = 100 * robust[0.0]["UIP"], 100 * robust[1e-1]["UIP"]
held = 100 * robust[1e-3]["UIP"]
answer = (f"From the exact count to a tolerance of 0.1 the first layer's VIPs go from {v0:.2f} % to {v1:.2f} % and its UIPs "
          f"from {u0:.2f} % to {u1:.2f} %. The expectation for the UIPs "
          + ("holds: they hardly move before the loosest tolerance. " if held < 1.2 * u0 else
             f"fails: at a tolerance of 1e-3 they are already {held / u0:.1f} times the exact count, so many absent-looking "
             "connections have pi just below 1. ")
          + "The exact counts are a lower bound whose size depends on the tolerance.")

# %% 2
p0 = runs["paper 2020"][0].params
c0 = mf.categories(p0["pi"][0], p0["xi"][0])
unit = int((c0 == 0).sum(1).argmax())
where = (c0[unit] == 0).reshape(28, 28)
ink = data.x_train.mean(0)  # (784,) mean intensity of each pixel over the training images
print(f"unit {unit}: {int(where.sum())} VIPs; on blank-border pixels: {int(where.flatten()[dead].sum())}; mean pixel "
      f"intensity under its VIPs {ink[where.flatten()].mean():.3f}, under all live pixels {ink[~dead].mean():.3f}")
show_unit(unit)
# interpretation
on_strokes = ink[where.flatten()].mean() > ink[~dead].mean()
answer = (f"Hidden unit {unit} has the most first-layer VIPs of seed 0, {int(where.sum())} of its 784 connections, "
          f"and {int(where.flatten()[dead].sum())} of them come from the {int(dead.sum())} pixels blank in every training image: "
          "a connection that never gets a gradient keeps its initial Xi > 0 and cannot become a VIP. The pixels under its "
          f"VIPs are {'brighter' if on_strokes else 'darker'} on average than the live pixels as a whole: the VIPs sit "
          + ("on the strokes' region, as expected." if on_strokes else
             "rather off the strokes, towards the rim of the live region, against the expectation."))

# %% 3
pm_ = runs["paper 2020"][0].params
c3 = mf.categories(pm_["pi"][0], pm_["xi"][0])
m_abs = pm_["m"][0].abs()
live0 = live[0]
med_vip = m_abs[(c3 == 0) & live0].median().item()
med_var = m_abs[(c3 == 2) & live0].median().item()
print(f"median |m|: VIPs {med_vip:.3f}, variable (live inputs) {med_var:.3f}")
# interpretation
answer = (f"The VIPs' median |m| is {med_vip:.3f}, the variable connections' {med_var:.3f}: VIPs are "
          f"{'larger, as expected,' if med_vip > med_var else 'not larger, against the expectation,'} than a typical variable connection. Being very important "
          "is not the same as being large, which is why notebook 4 compares removing VIPs with removing variable "
          "connections of the same magnitude.")
