# %% 1
ratios = {name: float(t["mean"].max() / t["mean"].min()) for name, t in (("coarse", coarse), ("fine", fine))}
print({k: round(v, 2) for k, v in ratios.items()})
# interpretation
answer = (f"Over the decades the worst learning rate errs {ratios['coarse']:.1f} times as often as the best; on the fine "
          f"grid only {ratios['fine']:.2f} times: the fine grid is where the choice is made, and it is a close one.")

# %% 2
d = frac[(frac.layer == "all") & frac.variant.isin(["paper recipe", "2022 variant", *cells.values()])]
uips = d.groupby(["variant", "tol"], sort=False)["UIP"].mean().unstack("tol").round(2)
print(uips)
# interpretation
ranked = [list(uips.sort_values(c).index) for c in uips.columns]
answer = (f"The relaxed categories {'keep' if ranked[0] == ranked[1] else 'change'} the order of the variants; they add "
          f"{(uips.iloc[:, 1] - uips.iloc[:, 0]).min():.2f} to {(uips.iloc[:, 1] - uips.iloc[:, 0]).max():.2f} points.")

# %% 3
stops = pd.DataFrame([{"seed": r.seed, "stopped at epoch": r.info["best_epoch"],
                       "error then (%)": r.metrics["val_error"][r.info["best_epoch"] - 1],
                       "error at the end (%)": r.metrics["val_error"][-1]} for r in tuned])
print(stops.round(2).to_string(index=False))
# interpretation
gain = (stops["error at the end (%)"] - stops["error then (%)"]).mean()
answer = (f"The runs stop between epochs {stops['stopped at epoch'].min()} and {stops['stopped at epoch'].max()}; stopping "
          f"there saves {gain:.2f} points on the stopping images on average, against the end of training.")
