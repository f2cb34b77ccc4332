# %% 1
ratios = {name: float(t["mean"].max() / t["mean"].min()) for name, t in (("coarse", coarse), ("fine", fine))}
print({k: round(v, 2) for k, v in ratios.items()})
# interpretation
near = fine[fine["mean"] <= 1.05 * fine["mean"].min()]  # rates within 5 % of the best
answer = (f"Over the decades the worst learning rate errs {ratios['coarse']:.1f} times as often as the best; on the fine "
          f"grid {ratios['fine']:.2f} times, the worst fine rate being {fine['mean'].idxmax():g}. "
          f"{len(near)} of the {len(fine)} fine rates ({', '.join(f'{x:g}' for x in near.index)}) come within 5 % of the "
          "best: among those the choice is a close one.")

# %% 2
d = frac[(frac.layer == "all") & frac.variant.isin(["paper recipe", "2022 variant", *cells.values()])]
uips = d.groupby(["variant", "tol"], sort=False)["UIP"].mean().unstack("tol").round(2)
print(uips)
# interpretation
ranked = [list(uips.sort_values(c).index) for c in uips.columns]
swapped = [(a, b) for i, a in enumerate(ranked[0]) for b in ranked[0][i + 1:] if ranked[1].index(a) > ranked[1].index(b)]
closest = (uips.iloc[:, 0].sort_values().diff().min(), uips.iloc[:, 1].sort_values().diff().min())
answer = (f"The relaxed categories add {(uips.iloc[:, 1] - uips.iloc[:, 0]).min():.2f} to "
          f"{(uips.iloc[:, 1] - uips.iloc[:, 0]).max():.2f} points. " + (
              "They keep the order of the variants." if not swapped else
              "They swap " + "; ".join(f"'{a}' and '{b}'" for a, b in swapped) + f": variants whose exact fractions lie "
              f"{closest[0]:.2f} points apart can trade places once near-absent connections count, so which single "
              "detail moves more is a matter of the tolerance; the paper recipe and the 2022 variant stay at the two ends."
              if {ranked[0][0], ranked[0][-1]} == {ranked[1][0], ranked[1][-1]} else
              "They swap " + "; ".join(f"'{a}' and '{b}'" for a, b in swapped) + ", the ends included."))

# %% 3
stops = pd.DataFrame([{"seed": r.seed, "stopped at epoch": r.info["best_epoch"],
                       "error then (%)": r.metrics["val_error"][r.info["best_epoch"] - 1],
                       "error at the end (%)": r.metrics["val_error"][-1]} for r in tuned])
print(stops.round(2).to_string(index=False))
# interpretation
gain = (stops["error at the end (%)"] - stops["error then (%)"]).mean()
late = stops["stopped at epoch"].min() > tuned[0].config.epochs // 2
answer = (f"The runs stop between epochs {stops['stopped at epoch'].min()} and {stops['stopped at epoch'].max()}"
          f"{', all in the second half of training' if late else ''}; stopping there saves {gain:.2f} points on the "
          "stopping images, the very images that chose the epoch, so this saving is an optimistic estimate. Whether it "
          "carries over is read off the selection and test errors in the baseline table above.")
