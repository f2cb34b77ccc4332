# %% 1
p0 = gbp_runs[0].params
errs95 = {}
for kind in ("presence", "mean", "random"):
    c = mf.pruning.pruning_curve(p0, mf.pruning.blank_first(mf.pruning.keep_scores(p0, kind, mf.generator(0)), dead), [0.0, 0.95],
                                 x_test, y_test, layers=[0], generator=mf.generator(0))
    errs95[kind] = c["mean"]
    print(f"{kind:9s} unpruned {c['mean'][0]:.2f} %, 95 % of layer 1 removed {c['mean'][1]:.2f} %")
# interpretation
beat = [name for name, kind in (("the credit", "presence"), ("the mean-weight magnitude", "mean")) if errs95[kind][1] < errs95["random"][1]]
answer = (f"With 95 % of the first layer gone, the credit 1 - pi leaves {errs95['presence'][1]:.2f} % error, the mean-weight "
          f"magnitude {errs95['mean'][1]:.2f} %, random removal {errs95['random'][1]:.2f} %: "
          + (f"{' and '.join(beat)} {'beat' if len(beat) > 1 else 'beats'} random removal" if beat else
             "neither score beats random removal in this layer")
          + (", as expected." if len(beat) == 2 else
             ", against the expectation for " + " and ".join(n for n in ("the credit", "the mean-weight magnitude") if n not in beat) + "."))

# %% 2
bp0 = bp_runs[0].network()
with torch.no_grad():
    z_test, z_sel = bp0(x_test), bp0(x_sel)
T0 = mf.calibration.fit_temperature(z_sel, y_sel)
before = mf.calibration.scores(torch.softmax(z_test, -1), y_test)
after = mf.calibration.scores(torch.softmax(z_test / T0, -1), y_test)
print(f"T = {T0:.3f}")
print("before:", {k: round(v, 4) for k, v in before.items()})
print("after: ", {k: round(v, 4) for k, v in after.items()})
# interpretation
answer = (f"The fitted temperature is {T0:.2f}: " + ("above 1, so the raw network is over-confident on the selection images. "
          if T0 > 1 else "not above 1: the raw network is not over-confident on the selection images. ")
          + f"Dividing the logits by it moves the test ECE from {before['ece']:.4f} to {after['ece']:.4f} "
          f"({'lower' if after['ece'] < before['ece'] else 'not lower'}) and the NLL from {before['nll']:.3f} to {after['nll']:.3f} "
          f"nats ({'lower' if after['nll'] < before['nll'] else 'not lower'}), and leaves the error at {after['error']:.2f} %: a "
          "temperature never changes which class is most probable.")

# %% 3
ent_k = mf.calibration.entropy(probs[0][main[-1]][n_in:])
per_class = pd.Series(ent_k.numpy()).groupby(fy_test.numpy()).mean()
classes = ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
per_class.index = [classes[i] for i in per_class.index]
print(per_class.sort_values().round(3).to_string())
# interpretation
low, high = per_class.idxmin(), per_class.idxmax()
answer = (f"'{low}' images get the lowest entropy ({per_class.min():.2f} nats): the MNIST-trained ensemble is most sure they are "
          f"digits; '{high}' the highest ({per_class.max():.2f} nats, uniform is {np.log(10):.2f}).")
