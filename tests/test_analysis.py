"""Weight categories, entropy (closed-form limits and the Gaussian limit), ensembles, perturbation."""
import math

import pytest
import torch

import mfcredit as mf


def test_categories_exact_and_tolerant():
    pi = torch.tensor([0.0, 0.0, 1.0, 0.5, 1e-9, 0.0])
    xi = torch.tensor([0.0, 0.1, 0.3, 0.0, 0.0, 1e-9])
    assert mf.categories(pi, xi).tolist() == [0, 2, 1, 2, 2, 2]
    assert mf.categories(pi, xi, tol=1e-6).tolist() == [0, 2, 1, 2, 0, 0]
    rows = mf.category_fractions({"pi": [pi], "xi": [xi]})
    assert rows[0]["VIP"] == pytest.approx(1 / 6) and rows[0]["UIP"] == pytest.approx(1 / 6)
    assert rows[0]["variable"] == pytest.approx(4 / 6) and rows[0]["xi==0"] == pytest.approx(3 / 6)


def test_entropy_closed_form_limits():
    d = dict(dtype=torch.float64)
    pi = torch.tensor([1.0, 0.0, 0.3, 0.3, 0.0], **d)
    m = torch.tensor([2.0, 1.0, 0.0, 0.7, 0.5], **d)
    xi = torch.tensor([0.5, 0.0, 0.0, 0.0, 1e-9], **d)
    S = mf.connection_entropy(pi, m, xi)
    h = -0.3 * math.log(0.3) - 0.7 * math.log(0.7)
    assert S.tolist() == [0.0, 0.0, 0.0, pytest.approx(h, abs=1e-12), 0.0]


@pytest.mark.parametrize("xi", [0.3, 1e-3])
def test_entropy_gaussian_limit(xi):
    """pi = 0: S -> 0.5 ln(2 pi e xi). MC error of the mean of eps^2/2 over n draws: sqrt(0.5 / n)."""
    n = 20_000
    S = mf.connection_entropy(torch.zeros(50), torch.randn(50, generator=mf.generator(0)), torch.full((50,), xi),
                              n_mc=n, generator=mf.generator(1))
    assert torch.allclose(S, torch.full((50,), 0.5 * math.log(2 * math.pi * math.e * xi), dtype=torch.float64),
                          atol=5 * math.sqrt(0.5 / n))
    if xi < 1 / (2 * math.pi * math.e):
        assert (S < 0).all()


def test_entropy_spike_and_slab_between_limits():
    """A mixture far from the spike: S ~ binary entropy + (1 - pi) * Gaussian entropy (disjoint supports)."""
    pi, m, xi = 0.4, 3.0, 0.01
    S = mf.connection_entropy(torch.tensor([pi]), torch.tensor([m]), torch.tensor([xi]), n_mc=50_000,
                              generator=mf.generator(2)).item()
    expect = -pi * math.log(pi) - (1 - pi) * math.log(1 - pi) + (1 - pi) * 0.5 * math.log(2 * math.pi * math.e * xi)
    # the spike term uses ln(pi + ... + 1e-6) and the box delta: tiny deviations only
    assert S == pytest.approx(expect, abs=0.02)


def deterministic_params(widths=(20, 8, 3), seed=0):
    """pi in {0, 1}, xi = 0: every sample is the same network."""
    g = mf.generator(seed)
    pis = [(torch.rand(b, a, generator=g) < 0.3).float() for a, b in zip(widths[:-1], widths[1:])]
    ms = [torch.randn(b, a, generator=g) for a, b in zip(widths[:-1], widths[1:])]
    return {"pi": pis, "m": ms, "xi": [torch.zeros_like(p) for p in pis]}


def test_ensemble_of_identical_subnetworks():
    p = deterministic_params()
    x = torch.rand(100, 20, generator=mf.generator(1))
    y = torch.randint(0, 3, (100,), generator=mf.generator(2))
    res = mf.ensemble_study(p, x, y, n=30, generator=mf.generator(3))
    assert res["errors"].shape == (30,) and res["errors"].std() == 0
    assert res["disagreement"] == 0.0 and res["shared"] == [1.0, 1.0]
    net = mf.MFNet((20, 8, 3))
    with torch.no_grad():
        for layer, pi, m in zip(net.layers, p["pi"], p["m"]):
            layer.pi.copy_(pi), layer.m.copy_(m)
    assert res["errors"][0].item() == pytest.approx(mf.evaluate(net, x, y)["mf_mean"])


def test_ensemble_disagreement_of_random_subnetworks():
    p = deterministic_params()
    p["pi"] = [torch.full_like(t, 0.5) for t in p["pi"]]
    x = torch.rand(200, 20, generator=mf.generator(1))
    y = torch.randint(0, 3, (200,), generator=mf.generator(2))
    res = mf.ensemble_study(p, x, y, n=40, generator=mf.generator(3))
    assert 0.05 < res["disagreement"] < 0.9
    assert all(abs(s - 1 / 3) < 0.05 for s in res["shared"])  # Jaccard of two p=0.5 masks: 0.25/0.75


def test_perturbation_curves():
    g = mf.generator(0)
    pi = torch.zeros(6, 20)
    pi[:, 10:14] = 1.0  # 24 UIPs
    pi[:, 14:] = 0.3  # 36 variable
    xi = torch.zeros(6, 20)
    xi[:, 5:10] = 0.2  # 30 variable (pi = 0, xi > 0); VIPs: columns 0-4 = 30
    p = {"pi": [pi, torch.zeros(3, 6)], "m": [torch.randn(6, 20, generator=g), torch.randn(3, 6, generator=g)],
         "xi": [xi, torch.zeros(3, 6)]}
    x = torch.rand(300, 20, generator=g)
    y = torch.randint(0, 3, (300,), generator=g)
    out = mf.perturbation(p, x, y, n_samples=5, generator=mf.generator(1))
    assert out["counts"] == {"VIP": 30, "UIP": 24, "variable": 66}
    assert all(len(out[c]) == 11 for c in mf.perturbations.CURVES)
    assert out["variable_short"] == []
    assert all(0 <= m <= 100 for m, s in out["vip_removal"] + out["uip_activation"])
    few = mf.perturbation({**p, "pi": [torch.where(pi == 0.3, torch.ones_like(pi), pi), p["pi"][1]],
                           "xi": [torch.zeros_like(xi), p["xi"][1]]}, x, y, n_samples=2, generator=mf.generator(1))
    assert few["counts"]["variable"] == 0 and few["variable_short"] == [f for f in few["fractions"] if f > 0]
    assert all(math.isnan(m) for c in ("random_removal", "matched_removal") for m, s in few[c][1:])


@pytest.mark.parametrize("block", [None, 64, 299])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_evaluate_gives_the_errors_of_three_separate_passes(dtype, block):
    """evaluate (the weight terms computed once, the first layer's product shared by the two
    mean-field passes, the images in blocks: 64 gives five blocks, the last one short; 299 a last
    block of one image) draws what three separate passes of the network draw, in their order, gives
    their errors and leaves the generator where they leave it."""
    net = mf.MFNet((784, 60, 40, 10), dtype=dtype).init_(0.05, 0.01, 0.0, generator=mf.generator(1))
    with torch.no_grad():
        for layer in net.layers:
            layer.pi.uniform_(0, 1, generator=mf.generator(2))
    x = torch.rand(300, 784, generator=mf.generator(3), dtype=dtype)
    y = torch.randint(0, 10, (300,), generator=mf.generator(4))
    with torch.no_grad():
        g = mf.generator(6)  # the evaluation as three separate passes, drawing in the same order
        old = {"sampled": mf.evaluation.error_rate(mf.layers.forward(net.sample_weights(g), x), y),
               "mf_noisy": mf.evaluation.error_rate(net(x, noise=True, generator=g), y),
               "mf_mean": mf.evaluation.error_rate(net(x, noise=False), y)}
    g_blocks = mf.generator(6)
    assert mf.evaluate(net, x, y, g_blocks, block=block) == old
    assert torch.equal(torch.rand(3, generator=g_blocks), torch.rand(3, generator=g))


@pytest.mark.parametrize("threads", [1, 2])
def test_evaluate_default_blocks_give_the_logits_of_one_pass_bit_for_bit(threads):
    """At the paper's shape and test-set size, the default blocks (1,000 images per thread) give
    every image the logits of one pass over all 10,000, bit for bit: the three passes of evaluate,
    block by block against all at once, with the same weights and noise."""
    net = mf.MFNet((784, 100, 100, 10)).init_(0.05, 0.01, 0.0, generator=mf.generator(1))
    with torch.no_grad():
        for layer in net.layers:
            layer.pi.uniform_(0, 1, generator=mf.generator(2))
    x = torch.rand(10_000, 784, generator=mf.generator(3))
    with mf.utils.num_threads(threads), torch.no_grad():
        block = mf.evaluation.EVAL_BLOCK_PER_THREAD * torch.get_num_threads()
        rows = [slice(i, i + block) for i in range(0, len(x), block)]
        weights = net.sample_weights(mf.generator(4))
        eps = [torch.randn(len(x), w, generator=mf.generator(5)) for w in net.widths[1:]]
        terms = net.mean_field_terms()
        blocks = [mf.evaluation._three_passes(weights, terms, eps, x, r) for r in rows]
        at_once = mf.evaluation._three_passes(weights, terms, eps, x, slice(None))
        for name, logits in at_once.items():
            assert torch.equal(torch.cat([b[name] for b in blocks]), logits), name


def test_evaluate_refuses_a_block_of_no_images_and_takes_an_empty_set():
    net = mf.MFNet((4, 3, 2)).init_(0.5, 0.01, 0.0, generator=mf.generator(1))
    x, y = torch.rand(5, 4), torch.zeros(5, dtype=torch.long)
    with pytest.raises(ValueError, match="block must be a positive number of images, got 0"):
        mf.evaluate(net, x, y, block=0)
    assert all(math.isnan(v) for v in mf.evaluate(net, x[:0], y[:0]).values())


def test_entropy_does_not_depend_on_chunk():
    """Chunking (memory) must not change the Monte Carlo draws, hence the entropies, bit for bit."""
    g = mf.generator(0)
    pi = torch.rand(40, 50, generator=g)
    pi[pi < 0.3] = 0
    m, xi = torch.randn(40, 50, generator=g), torch.rand(40, 50, generator=g) * 0.1
    full = mf.connection_entropy(pi, m, xi, n_mc=30, generator=mf.generator(1), chunk=1 << 20)
    for chunk in (16, 160, 1 << 10):
        assert torch.equal(mf.connection_entropy(pi, m, xi, n_mc=30, generator=mf.generator(1), chunk=chunk), full)


# ---------------------------------------------------------------- dead inputs, include masks

def test_dead_inputs_and_live_connections():
    x = torch.tensor([[0.0, 0.2, 0.0, 0.0], [0.0, 0.0, 0.5, 0.0], [0.0, 0.1, 0.0, 0.0]])
    dead = mf.dead_inputs(x)
    assert dead.tolist() == [True, False, False, True]
    p = {"pi": [torch.zeros(3, 4), torch.zeros(2, 3)], "xi": [torch.zeros(3, 4), torch.zeros(2, 3)]}
    live = mf.live_connections(p, dead)
    assert live[0].tolist() == [[False, True, True, False]] * 3 and live[1].all()
    with pytest.raises(ValueError, match="one entry per input"):
        mf.live_connections(p, torch.zeros(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="one bool mask per layer"):
        mf.category_fractions(p, include=live[:1])


def test_dead_inputs_of_mnist(mnist):
    """The first 10,000 training images leave 111 pixels blank; the whole training set fewer."""
    assert int(mf.dead_inputs(mnist.x_train[:10_000]).sum()) == 111
    assert 0 < int(mf.dead_inputs(mnist.x_train).sum()) < 111


def test_category_fractions_of_included_connections():
    """Hand-counted: columns 0 and 3 excluded leave 6 connections: 2 VIP, 1 UIP, 3 variable."""
    pi = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 0.5, 0.0, 1.0]])
    xi = torch.tensor([[0.1, 0.0, 0.0, 0.0], [0.2, 0.0, 0.3, 0.0]])
    p = {"pi": [pi], "xi": [xi]}
    live = mf.live_connections(p, torch.tensor([True, False, False, True]))
    row = mf.category_fractions(p, include=live)[0]
    assert row["n"] == 4 and row["VIP"] == 0.25 and row["UIP"] == 0.25 and row["variable"] == 0.5
    everything = mf.category_fractions(p)[0]
    assert everything["n"] == 8 and everything["VIP"] == 2 / 8 and everything["UIP"] == 2 / 8


def test_absence_three_readings():
    """Exact counts by hand; the sampled fraction absent against mean pi within 5 standard errors."""
    pi = torch.tensor([1.0, 0.999, 0.97, 0.5, 0.0] * 2000).reshape(100, 100)
    rows = mf.absence({"pi": [pi]}, deltas=(1e-6, 1e-2, 0.5), n_samples=30, generator=mf.generator(0))
    r = rows[0]
    assert r["exact"] == pytest.approx(0.2) and r["above"] == pytest.approx([0.2, 0.4, 0.6])
    assert r["mean_pi"] == pytest.approx((1 + 0.999 + 0.97 + 0.5) / 5)
    var = sum(p * (1 - p) for p in (1.0, 0.999, 0.97, 0.5, 0.0)) / 5 / pi.numel()  # of one mask's fraction
    assert abs(r["sampled"] - r["mean_pi"]) < 5 * math.sqrt(var / 30)
    assert r["sampled_sd"] == pytest.approx(math.sqrt(var), rel=0.5)


# ---------------------------------------------------------------- magnitude matching

def naive_match(target, pool):
    """The same greedy rule written plainly: targets largest first, nearest free pool value."""
    free, out = list(range(len(pool))), [None] * len(target)
    for i in sorted(range(len(target)), key=lambda i: -target[i]):
        j = min(free, key=lambda j: abs(pool[j] - target[i]))
        free.remove(j)
        out[i] = j
    return out


@pytest.mark.parametrize("seed", range(5))
def test_match_by_magnitude_against_naive(seed):
    g = mf.generator(seed)
    pool = torch.rand(300, generator=g, dtype=torch.float64) * 3
    target = torch.rand(120, generator=g, dtype=torch.float64) * 4  # some beyond every pool value
    got = mf.perturbations.match_by_magnitude(target, pool)
    assert got.tolist() == naive_match(target.tolist(), pool.tolist())
    assert len(set(got.tolist())) == len(target)


def test_match_by_magnitude_ranks_and_exact_copies():
    pool = torch.arange(100, dtype=torch.float64)
    # every target above every pool value: the matched ones are the k largest, by rank
    target = torch.tensor([500.0, 200.0, 300.0], dtype=torch.float64)
    assert sorted(pool[mf.perturbations.match_by_magnitude(target, pool)].tolist()) == [97.0, 98.0, 99.0]
    assert pool[mf.perturbations.match_by_magnitude(target, pool)].tolist() == [99.0, 97.0, 98.0]  # same rank order
    # pool holds exact copies of the targets: each is matched to its own value
    target = torch.tensor([3.0, 50.0, 7.0, 8.0], dtype=torch.float64)
    assert pool[mf.perturbations.match_by_magnitude(target, pool)].tolist() == [3.0, 50.0, 7.0, 8.0]
    with pytest.raises(ValueError, match="only 100 pool values"):
        mf.perturbations.match_by_magnitude(torch.zeros(101), pool)


# ---------------------------------------------------------------- perturbation controls

def controlled_params(seed=0):
    """Layer 1 (8 x 30): columns 0-1 dead inputs (pi = 0, xi > 0: variable); columns 2-6 VIPs with
    |m| in [2, 3]; columns 7-9 UIPs; columns 10-29 variable, of magnitudes from 0.1 to ~4."""
    g = mf.generator(seed)
    pi, xi = torch.zeros(8, 30), torch.zeros(8, 30)
    m = torch.randn(8, 30, generator=g)
    xi[:, :2] = 0.01
    m[:, 2:7] = (2 + torch.rand(8, 5, generator=g)) * torch.sign(torch.randn(8, 5, generator=g))
    pi[:, 7:10] = 1.0
    pi[:, 10:] = torch.rand(8, 20, generator=g) * 0.5
    xi[:, 10:] = 0.05
    m[:, 10:] = torch.linspace(0.1, 4.0, 160).reshape(8, 20)
    p = {"pi": [pi, torch.zeros(3, 8)], "m": [m, torch.randn(3, 8, generator=g)], "xi": [xi, torch.zeros(3, 8)]}
    x = torch.rand(200, 30, generator=g)
    x[:, :2] = 0
    return p, x, torch.randint(0, 3, (200,), generator=g)


def test_perturbation_excludes_dead_inputs_and_counts():
    p, x, y = controlled_params()
    live = mf.live_connections(p, mf.dead_inputs(x))
    out = mf.perturbation(p, x, y, n_samples=2, generator=mf.generator(1), include=live)
    assert out["counts"] == {"VIP": 40, "UIP": 24, "variable": 160}
    raw = mf.perturbation(p, x, y, fractions=[0, 1], n_samples=2, generator=mf.generator(1))
    assert raw["counts"]["variable"] == 176  # the 16 dead-input connections count as variable there
    mags = out["magnitudes"]
    assert len(mags["vip_removal"]) == len(mags["matched_removal"]) == len(mags["random_removal"]) == 40
    dead_sizes = mf.ensemble.magnitude(p["pi"][0][:, :2], p["m"][0][:, :2], p["xi"][0][:, :2]).flatten()
    assert not any(bool((mags[c][:, None] == dead_sizes[None, :]).any()) for c in ("matched_removal", "random_removal"))
    assert out["vip_removal"][0] == out["matched_removal"][0] == out["uip_activation"][0] == out["unperturbed"]


def test_perturbation_matched_control_is_matched():
    """The matched control's magnitudes follow the VIPs' (rank for rank, within the pool's spacing),
    the random control's do not."""
    p, x, y = controlled_params()
    live = mf.live_connections(p, mf.dead_inputs(x))
    out = mf.perturbation(p, x, y, fractions=[1.0], n_samples=2, generator=mf.generator(2), include=live)
    vip, matched, rand = (out["magnitudes"][c].sort().values for c in ("vip_removal", "matched_removal", "random_removal"))
    assert torch.equal(vip, p["m"][0][:, 2:7].abs().flatten().sort().values)
    pool = mf.ensemble.magnitude(p["pi"][0][:, 10:], p["m"][0][:, 10:], p["xi"][0][:, 10:]).flatten()
    assert (matched - vip).abs().max() < 0.35  # the pool is dense enough (magnitudes 0.1 .. 4) for that
    assert (rand - vip).abs().mean() > 3 * (matched - vip).abs().mean()
    # too few variable connections for the controls: NaN, listed in variable_short
    few = {**p, "pi": [torch.where(p["pi"][0] < 1, torch.zeros_like(p["pi"][0]), p["pi"][0]), p["pi"][1]],
           "xi": [torch.zeros_like(p["xi"][0]), p["xi"][1]]}
    short = mf.perturbation(few, x, y, fractions=[0.0, 1.0], n_samples=2, generator=mf.generator(2),
                            include=mf.live_connections(few, mf.dead_inputs(x)))
    assert short["variable_short"] == [1.0] and math.isnan(short["matched_removal"][1][0])
    assert len(pool) == 160


def test_uip_activation_values_at_the_layer_scale(monkeypatch):
    """Activated UIPs copy present weights of the layer: with every non-UIP weight of magnitude 20
    when present (some present half the time), every activated UIP is +-20, never an absent 0; with
    'normal' they are N(0, 1)."""
    pi = torch.zeros(4, 10)
    pi[:, 5:] = 1.0
    pi[:, 3:5] = 0.5
    m = torch.full((4, 10), 20.0)
    m[::2] = -20.0
    p = {"pi": [pi], "m": [m], "xi": [torch.zeros(4, 10)]}
    seen = {}

    def run(values):
        x, y = torch.rand(50, 10, generator=mf.generator(0)), torch.randint(0, 4, (50,), generator=mf.generator(1))
        orig = mf.ensemble.sampled_predictions

        def spy(params, x, n, generator=None, chunk=10, override=None):
            if override:
                w = mf.layers.sample_weights(params["pi"][0], params["m"][0], params["xi"][0], n, generator)
                seen[values] = override[0](w)[:, :, 5:]
            return orig(params, x, n, generator, chunk, override)

        monkeypatch.setattr(mf.perturbations, "sampled_predictions", spy)
        mf.perturbation(p, x, y, fractions=[1.0], n_samples=20, generator=mf.generator(2),
                        curves=("uip_activation",), uip_values=values)
        monkeypatch.undo()

    run("layer")
    assert torch.equal(seen["layer"].abs(), torch.full_like(seen["layer"], 20.0))
    assert (seen["layer"] > 0).any() and (seen["layer"] < 0).any()
    run("normal")
    assert seen["normal"].abs().max() < 6 and abs(seen["normal"].std().item() - 1) < 0.2
    with pytest.raises(ValueError, match="uip_values"):
        mf.perturbation(p, torch.rand(5, 10), torch.zeros(5, dtype=torch.long), uip_values="big")


# ---------------------------------------------------------------- entropy: include masks, the jump at xi -> 0

def test_layer_entropies_of_included_connections():
    """Closed-form connections only (no Monte Carlo): binary entropies by hand."""
    pi = torch.tensor([[0.3, 0.5, 1.0], [0.3, 0.5, 0.0]], dtype=torch.float64)
    m, xi = torch.ones_like(pi), torch.zeros_like(pi)
    h = lambda q: -q * math.log(q) - (1 - q) * math.log(1 - q)  # noqa: E731
    p = {"pi": [pi], "m": [m], "xi": [xi]}
    assert mf.layer_entropies(p) == [pytest.approx((2 * h(0.3) + 2 * h(0.5)) / 6)]
    live = mf.live_connections(p, torch.tensor([True, False, False]))  # column 0 dead
    assert mf.layer_entropies(p, include=live) == [pytest.approx(2 * h(0.5) / 4)]
    with pytest.raises(ValueError, match=r"one bool mask per layer.*\[\(2, 3\)\]; got \[\(2, 2\)\]"):
        mf.layer_entropies(p, include=[live[0][:, :2]])  # the same check as mf.connections.include_masks


def test_entropy_by_layer_and_the_jump_by_hand():
    """Two (pi = 0, xi = 0) connections move from 0 to 0.5 ln(2 pi e 1e-8); pi = 1 does not move;
    a connection with xi = 0.3 is the same Monte Carlo number in both means."""
    d = dict(dtype=torch.float64)
    p = {"pi": [torch.tensor([[0.0, 0.0, 1.0, 0.0]], **d)], "m": [torch.tensor([[0.5, -2.0, 0.3, 0.1]], **d)],
         "xi": [torch.tensor([[0.0, 0.0, 0.0, 0.3]], **d)]}
    n = 20_000
    live = mf.live_connections(p, torch.tensor([True, False, False, False]))
    rows = mf.entropy_by_layer(p, {"all": None, "live": live}, n_mc=n, generator=mf.generator(0))
    every, part = rows
    assert (every["view"], every["layer"], part["view"]) == ("all", 1, "live")
    assert every["xi_zero"] == 0.75 and part["xi_zero"] == pytest.approx(2 / 3)
    assert every["S"] == mf.layer_entropies(p, n_mc=n, generator=mf.generator(0))[0]
    gauss = 0.5 * math.log(2 * math.pi * math.e * 1e-8)
    tol = 5 * math.sqrt(0.5 / n)
    assert every["S_gaussian_limit"] - every["S"] == pytest.approx(2 * gauss / 4, abs=tol)
    assert part["S_gaussian_limit"] - part["S"] == pytest.approx(gauss / 3, abs=tol)
    assert part["S"] == pytest.approx((4 * every["S"]) / 3)  # the dead connection (0.5, xi = 0) has S = 0


def test_layer_samples_against_mean_field_and_plain_sampling():
    """layer_samples draws only the columns of live inputs; its z must still have the mean-field mean
    G and variance Delta (Monte Carlo oracle, 5 standard errors), and match z = s W a computed from
    full sampled matrices in distribution."""
    g = mf.generator(5)
    pi = torch.rand(4, 9, generator=g, dtype=torch.float64)
    m = torch.randn(4, 9, generator=g, dtype=torch.float64)
    xi = 0.3 * torch.rand(4, 9, generator=g, dtype=torch.float64)
    a = torch.rand(9, generator=g, dtype=torch.float64)
    a[[0, 3, 4, 8]] = 0.0  # blank inputs
    n = 40_000
    z = mf.ensemble.layer_samples(pi, m, xi, a, n, generator=mf.generator(6))
    assert z.shape == (n, 4)
    mu, var = mf.layers.moments(pi, m, xi)
    G, Delta = (mu @ a) / 3.0, (var @ (a * a)) / 9.0  # s = 1/sqrt(9)
    assert torch.all((z.mean(0) - G).abs() < 5 * (Delta / n).sqrt())
    c = z - z.mean(0)
    se_var = ((c ** 4).mean(0) - z.var(0) ** 2).sqrt() / math.sqrt(n)  # standard error of the sample variance
    assert torch.all((z.var(0) - Delta).abs() < 5 * se_var)
    full = torch.stack([(mf.layers.sample_weights(pi, m, xi, generator=mf.generator(100 + i)) @ a) / 3.0
                        for i in range(2000)])
    assert torch.all((full.mean(0) - z.mean(0)).abs() < 5 * (Delta / 2000).sqrt())
    all_blank = mf.ensemble.layer_samples(pi, m, xi, torch.zeros(9, dtype=torch.float64), 5)
    assert torch.equal(all_blank, torch.zeros(5, 4, dtype=torch.float64))
