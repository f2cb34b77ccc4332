# %% 1
robust = {t: mf.category_fractions(runs["paper 2020"][0].params, t)[0] for t in (0.0, 1e-6, 1e-3, 1e-1)}
for t, row in robust.items():
    print(f"tol {t:g}: VIP {100 * row['VIP']:.2f} %, UIP {100 * row['UIP']:.2f} %")
# interpretation
v0, v1 = 100 * robust[0.0]["VIP"], 100 * robust[1e-1]["VIP"]
u0, u1 = 100 * robust[0.0]["UIP"], 100 * robust[1e-1]["UIP"]
answer = (f"From the exact count to a tolerance of 0.1 the first layer's VIPs go from {v0:.2f} % to {v1:.2f} % and its UIPs "
          f"from {u0:.2f} % to {u1:.2f} %: the exact counts are a lower bound whose size depends on the tolerance, "
          "most for the VIPs, which need both pi and Xi on a boundary.")

# %% 2
p0 = runs["paper 2020"][0].params
c0 = mf.categories(p0["pi"][0], p0["xi"][0])
unit = int((c0 == 0).sum(1).argmax())
where = (c0[unit] == 0).reshape(28, 28)
print(f"unit {unit}: {int(where.sum())} VIPs; on blank-border pixels: {int(where.flatten()[dead].sum())}")
# interpretation
answer = (f"Hidden unit {unit} has the most first-layer VIPs of seed 0, {int(where.sum())} of its 784 connections, "
          f"and {int(where.flatten()[dead].sum())} of them come from the {int(dead.sum())} pixels blank in every training image: "
          "a connection that never gets a gradient keeps its initial Xi > 0 and cannot become a VIP. "
          f"`show_unit({unit})` draws it.")

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
          f"{'larger' if med_vip > med_var else 'not larger'} than a typical variable connection. Being very important "
          "is not the same as being large, which is why notebook 4 compares removing VIPs with removing variable "
          "connections of the same magnitude.")
