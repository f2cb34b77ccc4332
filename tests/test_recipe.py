"""The recipe details the ablation of notebook 6 is about, each against an independent oracle: the
decoupled weight decay and its place in a step (torch.optim.AdamW, float64), the Adam reset and the
learning-rate schedule (a spy on the optimiser itself, and hand expectations), the largest pi each
connection reached, early stopping, and dropout."""
import math

import pytest
import torch
import torch.nn.functional as F

import mfcredit as mf
from mfcredit import training
from mfcredit.layers import SQRT_EPS

WIDTHS = (30, 12, 8, 4)


def _batch(seed=0, n=16):
    g = mf.generator(seed)
    return torch.rand(n, WIDTHS[0], generator=g, dtype=torch.float64), torch.randint(0, WIDTHS[-1], (n,), generator=g)


def _oracle_mf_loss(pi, m, xi, x, y, eps):
    """The batch-mean cross-entropy of the noisy mean-field pass, from the paper's equations, on leaf tensors."""
    a = x
    for l, (p, mm, v, e) in enumerate(zip(pi, m, xi, eps)):
        s = 1 / math.sqrt(a.shape[1])
        mu, var = (1 - p) * mm, (1 - p) * (v + p * mm * mm)
        z = s * a @ mu.T + torch.sqrt(s * s * (a * a) @ var.T + SQRT_EPS) * e
        a = torch.relu(z) if l < len(pi) - 1 else z
    return F.cross_entropy(a, y)


def _adamw_steps(net, cfg, x, y, seed, steps, order="decay, adam"):
    """Parameters (pi, m, xi per layer) after ``steps`` steps of torch.optim.AdamW on copies of ``net``'s
    parameters, pi in a group of its own without decay unless ``cfg.decay_pi``, then the projection.
    ``order='adam, decay'`` decays after the Adam update instead (what the recipe must NOT do)."""
    leaves = {k: [getattr(layer, k).detach().clone().requires_grad_() for layer in net.layers] for k in ("pi", "m", "xi")}
    wd = cfg.weight_decay
    groups = [{"params": leaves["pi"], "weight_decay": wd if cfg.decay_pi else 0.0},
              {"params": leaves["m"] + leaves["xi"], "weight_decay": wd}]
    if order == "adam, decay":
        groups = [{**g, "weight_decay": 0.0} for g in groups]
    opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps)
    g = mf.generator(seed)
    for _ in range(steps):
        eps = [x.new_empty((len(x), n)).normal_(generator=g) for n in net.widths[1:]]  # as MFNet.forward draws
        opt.zero_grad()
        _oracle_mf_loss(leaves["pi"], leaves["m"], leaves["xi"], x, y, eps).backward()
        opt.step()
        with torch.no_grad():
            if order == "adam, decay":
                for p in leaves["m"] + leaves["xi"] + (leaves["pi"] if cfg.decay_pi else []):
                    p.mul_(1 - cfg.lr * wd)
            for p in leaves["pi"]:
                p.clamp_(0, 1)
            for v in leaves["xi"]:
                v.clamp_(min=0)
    return {k: [t.detach() for t in v] for k, v in leaves.items()}


def _distance(a: dict, b: dict) -> float:
    return max((x - y).abs().max().item() for k in a for x, y in zip(a[k], b[k]))


@pytest.mark.parametrize("decay_pi", [False, True])
def test_train_step_is_adamw_with_pi_undecayed_then_projection(decay_pi):
    """Three float64 steps of the recipe's train_step equal AdamW (decay before the Adam update, pi in a
    group without decay unless decay_pi) followed by the projection. The decay is made large (0.05)
    so that leaving it out, applying it to pi, or applying it after the Adam update moves the
    parameters by far more than the tolerance: the test can tell each of those apart."""
    cfg = mf.TrainConfig(widths=WIDTHS, lr=0.1, weight_decay=0.05, decay_pi=decay_pi, dtype="float64")
    start = mf.gbp.random_net(WIDTHS, generator=mf.generator(1))
    x, y = _batch()
    net = mf.gbp.random_net(WIDTHS, generator=mf.generator(1))
    opt = training.adam(net, cfg, cfg.lr, torch.device("cpu"))
    g = mf.generator(5)
    for _ in range(3):
        training.train_step(net, opt, x, y, g, cfg, cfg.lr)
    got = net.state()
    want = _adamw_steps(start, cfg, x, y, seed=5, steps=3)
    assert _distance(got, want) < 1e-12
    for wrong in (cfg.replace(decay_pi=not decay_pi), cfg.replace(weight_decay=0.0)):
        assert _distance(got, _adamw_steps(start, wrong, x, y, seed=5, steps=3)) > 1e-5, wrong
    assert _distance(got, _adamw_steps(start, cfg, x, y, seed=5, steps=3, order="adam, decay")) > 1e-7
    assert all(((p >= 0) & (p <= 1)).all() for p in got["pi"]) and all((v >= 0).all() for v in got["xi"])


def test_plain_network_step_is_adamw():
    cfg = mf.TrainConfig(model="bp", widths=WIDTHS, lr=0.1, weight_decay=0.05, dtype="float64")
    net = mf.PlainNet(WIDTHS, dtype=torch.float64).init_(0.5, mf.generator(2))
    leaves = [layer.weight.detach().clone().requires_grad_() for layer in net.layers]
    ref = torch.optim.AdamW(leaves, lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps, weight_decay=cfg.weight_decay)
    x, y = _batch(3)
    opt = training.adam(net, cfg, cfg.lr, torch.device("cpu"))
    for _ in range(3):
        training.train_step(net, opt, x, y, None, cfg, cfg.lr)
        ref.zero_grad()
        F.cross_entropy(mf.layers.forward(leaves, x), y).backward()
        ref.step()
    assert max((a.weight - b).abs().max().item() for a, b in zip(net.layers, leaves)) < 1e-12
    net.decay_(0.5)
    assert torch.equal(net.layers[0].weight, 0.5 * leaves[0].detach()) or \
        (net.layers[0].weight - 0.5 * leaves[0]).abs().max() < 1e-12


def test_decay_methods_scale_exactly_what_they_say():
    net = mf.gbp.random_net(WIDTHS, generator=mf.generator(4))
    before = net.state()
    net.decay_(0.9, include_pi=False)
    after = net.state()
    for l in range(len(WIDTHS) - 1):
        assert torch.equal(after["pi"][l], before["pi"][l])
        assert torch.allclose(after["m"][l], 0.9 * before["m"][l], rtol=0, atol=1e-15)
        assert torch.allclose(after["xi"][l], 0.9 * before["xi"][l], rtol=0, atol=1e-15)
    net.decay_(0.5, include_pi=True)
    assert torch.allclose(net.state()["pi"][0], 0.5 * before["pi"][0], rtol=0, atol=1e-15)


class _Spy:
    """Wraps mfcredit.training.adam: every optimiser it builds records, at every step, its parameter
    groups' learning rates, whether its state was empty and its step count. The oracle of what the
    optimiser actually did, independent of what the training loop records."""

    def __init__(self):
        self.steps, self.built = [], 0

    def __call__(self, net, cfg, lr, device):
        opt = _original_adam(net, cfg, lr, device)
        self.built += 1
        step, spy = opt.step, self

        def recorded(*a, **k):
            state = next(iter(opt.state.values()), {})
            spy.steps.append({"lrs": {g["lr"] for g in opt.param_groups}, "fresh": not opt.state,
                              "count": float(state.get("step", 0)), "opt": id(opt)})
            return step(*a, **k)
        opt.step = recorded
        return opt


_original_adam = training.adam


@pytest.mark.parametrize("recipe", ["paper", "2022", "halving, Adam kept"])
def test_adam_reset_and_lr_schedule_as_the_recipe_says(monkeypatch, mnist_1000, recipe):
    """Paper recipe: lr halved every k epochs, Adam's state empty at the first step of every epoch.
    2022 variant: constant lr, Adam's state carried over (its step count keeps growing), one optimiser.
    The ablation's cell with both (halving, Adam kept): one optimiser whose learning rate is halved.
    Checked three ways: the hand-written expectation, a spy on the optimiser, and the per-epoch record."""
    base = dict(n_train=400, batch_size=100, epochs=5, eval_every=5)
    cfg = {"paper": mf.TrainConfig(lr_halve_every=2, **base), "2022": mf.recipe_2022(**base),
           "halving, Adam kept": mf.TrainConfig(lr_halve_every=2, reset_adam_every_epoch=False, **base)}[recipe]
    spy = _Spy()
    monkeypatch.setattr(training, "adam", spy)
    run = mf.train(cfg, seed=0, data=mnist_1000, progress=False, threads=1)
    per_epoch = 4  # 400 images, batches of 100
    assert len(spy.steps) == cfg.epochs * per_epoch
    halving = [0.1, 0.1, 0.05, 0.05, 0.025]
    want_lr = [0.1] * 5 if recipe == "2022" else halving
    want_fresh = [True] * 5 if recipe == "paper" else [True, False, False, False, False]
    assert spy.built == (5 if recipe == "paper" else 1)
    for e in range(cfg.epochs):
        first = spy.steps[e * per_epoch]
        assert first["lrs"] == {want_lr[e]} and first["fresh"] == want_fresh[e], (e, first)
        assert first["count"] == (0 if want_fresh[e] else e * per_epoch)
    assert run.metrics["lr"] == want_lr and run.metrics["adam_fresh"] == want_fresh


def test_pi_max_is_the_running_maximum_after_every_step(monkeypatch, mnist_1000):
    seen = []
    step = training.train_step

    def spy(net, *a, **k):
        loss = step(net, *a, **k)
        pis = [layer.pi.detach().clone() for layer in net.layers]
        seen.append(pis if not seen else [torch.maximum(s, p) for s, p in zip(seen[-1], pis)])
        return loss

    monkeypatch.setattr(training, "train_step", spy)
    run = mf.train(mf.TrainConfig(n_train=400, batch_size=100, epochs=3, eval_every=3), seed=1, data=mnist_1000,
                   progress=False, threads=1)
    assert len(seen) == 12
    for l in range(3):
        assert torch.equal(run.pi_max[l], torch.maximum(seen[-1][l], torch.zeros_like(seen[-1][l])))
        assert (run.pi_max[l] >= run.params["pi"][l]).all()
    dead = mf.dead_inputs(mnist_1000.x_train[:400])
    assert (run.pi_max[0][:, dead] == 0).all() and (run.pi_max[0] > 0).any()
    monkeypatch.undo()
    assert mf.train(mf.TrainConfig(model="bp", n_train=200, batch_size=100, epochs=1), data=mnist_1000,
                    progress=False).pi_max is None


def test_moved_fractions_by_hand():
    pi = torch.tensor([[0.0, 0.0, 1.0, 0.5, 0.0]])
    top = torch.tensor([[0.0, 0.3, 1.0, 0.9, 0.0]])
    xi = torch.tensor([[0.0, 0.0, 0.1, 0.2, 0.3]])
    row = mf.connections.moved_fractions({"pi": [pi], "m": [pi], "xi": [xi]}, [top])[0]
    assert row["never_moved"] == 2 / 5 and row["pi0_never_moved"] == 2 / 3 and row["moved_n"] == 3
    assert row["moved_pi==0"] == 1 / 3 and row["moved_pi==1"] == 1 / 3 and row["moved_xi==0"] == 1 / 3


def test_keep_best_picks_the_earliest_lowest_epoch_of_a_toy_curve():
    """Early stopping on a hand-made validation curve: the lowest error is 2.5, first reached at epoch 5."""
    class Net:
        def __init__(self, epoch):
            self.epoch = epoch

        def state(self):
            return {"w": [torch.tensor(float(self.epoch))]}

    trace = {"best": None, "best_epoch": 0, "best_error": math.inf}
    for epoch, err in enumerate([5.0, 3.0, 4.0, 3.0, 2.5, 2.5, 6.0], start=1):
        training._keep_best(trace, {"epoch": epoch, "val_error": err}, Net(epoch))
    assert trace["best_epoch"] == 5 and trace["best_error"] == 2.5 and trace["best"]["w"][0].item() == 5.0


def test_early_stopping_keeps_the_parameters_of_the_best_validation_epoch(mnist_1000):
    cfg = mf.TrainConfig(n_train=500, batch_size=100, epochs=6, eval_every=6).bp_baseline(n_val=1000)
    kept = []
    run = mf.train(cfg, seed=0, data=mnist_1000, progress=False, threads=1,
                   on_epoch_end=lambda e, row, net: kept.append(net.state()))
    x_val, y_val = mf.data.validation_split("mnist", n=1000, n_train=500)
    errs = [mf.evaluate(mf.PlainNet(cfg.widths).load_(p), x_val, y_val)["mf_mean"] for p in kept]
    assert run.metrics["val_error"] == pytest.approx(errs, abs=1e-9)
    best = errs.index(min(errs))
    assert run.info["best_epoch"] == best + 1
    assert all(torch.equal(a, b) for a, b in zip(run.best["w"], kept[best]["w"]))
    assert torch.equal(run.best_network().layers[0].weight, kept[best]["w"][0])
    assert "val_error" not in mf.train(cfg.replace(n_val=0, epochs=1), data=mnist_1000, progress=False,
                                       threads=1).metrics


def test_dropout_masks_hidden_units_as_documented():
    net = mf.PlainNet((20, 50, 40, 3), dtype=torch.float64).init_(0.7, mf.generator(0))
    x = torch.rand(64, 20, generator=mf.generator(1), dtype=torch.float64)
    p = 0.3
    got = net(x, p, mf.generator(9))
    g = mf.generator(9)
    w = [layer.weight.detach() for layer in net.layers]
    a = torch.relu(x @ w[0].T / math.sqrt(20))
    keep1 = torch.rand(a.shape, generator=g, dtype=a.dtype) >= p
    a = torch.relu((a * keep1 / (1 - p)) @ w[1].T / math.sqrt(50))
    keep2 = torch.rand(a.shape, generator=g, dtype=a.dtype) >= p
    want = (a * keep2 / (1 - p)) @ w[2].T / math.sqrt(40)
    assert torch.allclose(got, want, rtol=0, atol=1e-12)
    assert abs((~keep1).double().mean().item() - p) < 0.05
    assert torch.equal(net(x, 0.0, mf.generator(9)), net(x))


def test_dropout_only_changes_training(mnist_1000):
    base = mf.TrainConfig(model="bp", n_train=300, batch_size=100, epochs=2, eval_every=2)
    a = mf.train(base, seed=0, data=mnist_1000, progress=False, threads=1)
    b = mf.train(base.replace(dropout=0.5), seed=0, data=mnist_1000, progress=False, threads=1)
    assert a.metrics["train_loss"] != b.metrics["train_loss"]
    with pytest.raises(ValueError, match="dropout"):
        mf.TrainConfig(dropout=0.5)  # an ensemble has no dropout
