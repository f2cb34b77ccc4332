"""`make bench`: time the pieces of the pipeline on this machine; writes bench/results.json.

    .venv/bin/python bench/bench.py [--device cuda] [--quick]

Measures, with the package's own training step (:func:`mfcredit.train.train_step`: noisy mean-field
pass, cross-entropy, gBP, decoupled decay, fused Adam, projection):
  - one step of the mean-field network and of the same-shaped plain network, batch 500, at the paper
    shape (784-100-100-10) and a wide shape (784-1000-1000-10), for 1 and 2 threads; the ratios are
    taken at the thread count that is fastest for the mean-field step;
  - the floor: the matrix products of one step alone (and the noise draws), paper shape;
  - one paper-recipe epoch (20 steps and the three test evaluations on 10,000 images);
  - R = 5 replicas trained together (``train_many``) against 5 sequential runs, 3 epochs each;
  - the full perturbation experiment (3 curves x 11 fractions x 10 samples) and the entropy of every
    connection of the 5-layer net, with their peak-RSS growth (tracemalloc does not see torch).
Timings are the best of repeated blocks, to be robust to other load on the machine.
"""
import argparse
import json
import platform
import resource
import time
from pathlib import Path

import torch

import mfcredit as mf
from mfcredit.train import _adam, train_step

PAPER, WIDE = (784, 100, 100, 10), (784, 1000, 1000, 10)


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(fn, n, repeats=5, sync=lambda: None):
    for _ in range(3):
        fn()
    sync()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def step_time(kind, widths, threads, n, device="cpu"):
    """Seconds per training step of one network (batch 500) through ``train_step``."""
    cfg = mf.TrainConfig(model=kind, widths=widths)
    dev = torch.device(device)
    with mf.num_threads(threads):
        gens = [mf.generator(0, dev)]
        net = mf.build(kind, widths, device=dev, replicas=1).init_(cfg.init_m_std, cfg.init_xi, generator=gens)
        opt = _adam(net, cfg, cfg.lr, dev)
        g = mf.generator(1, dev)
        x = torch.rand(1, 500, widths[0], generator=g, device=dev)
        y = torch.randint(0, widths[-1], (1, 500), generator=g, device=dev)
        sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
        return best_of(lambda: train_step(net, opt, x, y, gens, cfg, cfg.lr), n, sync=sync)


def floor_time(kind, widths, threads, n):
    """Seconds per step of the matrix products alone (the same shapes a step multiplies: forward,
    weight gradients, input gradients; twice as many for the mean-field net), plus, for the
    mean-field net, drawing its noise: what no implementation of the step can avoid."""
    copies = 2 if kind == "gbp" else 1
    with mf.num_threads(threads):
        g = mf.generator(0)
        B = 500
        acts = [torch.rand(B, w, generator=g) for w in widths[:-1]]
        errs = [torch.randn(B, w, generator=g) for w in widths[1:]]
        Ws = [torch.randn(o, i, generator=g) for i, o in zip(widths[:-1], widths[1:])]

        def products():
            for _ in range(copies):
                for a, W in zip(acts, Ws):
                    a @ W.T
                for l, (a, e, W) in enumerate(zip(acts, errs, Ws)):
                    e.T @ a
                    if l > 0:
                        e @ W
            if kind == "gbp":
                for w in widths[1:]:
                    torch.empty(B, w).normal_(generator=g)

        return best_of(products, n)


def replicas(data, threads, epochs, device="cpu"):
    """Wall time of R = 5 seeds trained together vs one after the other (same recipe, same seeds)."""
    cfg = mf.TrainConfig(epochs=epochs)
    seeds = range(5)
    t = time.perf_counter()
    mf.train_many(cfg, seeds, data=data, progress=False, threads=threads, device=device)
    together = time.perf_counter() - t
    t = time.perf_counter()
    for s in seeds:
        mf.train(cfg, s, data=data, progress=False, threads=threads, device=device)
    sequential = time.perf_counter() - t
    return {"replicas": 5, "epochs": epochs, "together_s": together, "sequential_s": sequential,
            "speedup": sequential / together}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu", help="cpu or cuda (GPU numbers go to bench/results-cuda.json)")
    p.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test of the script)")
    args = p.parse_args()
    dev = torch.device(args.device)
    k = 0.2 if args.quick else 1.0
    name = "cpu" if dev.type == "cpu" else torch.cuda.get_device_name(dev)
    out = {"machine": f"{platform.machine()}, {torch.get_num_threads()} cores seen by torch, torch {torch.__version__}",
           "device": name}
    steps = {}
    thread_counts = (1, 2) if dev.type == "cpu" else (1,)
    for threads in thread_counts:
        for shape_name, widths, n in (("paper", PAPER, 40), ("wide", WIDE, 4)):
            for kind in ("gbp", "bp"):
                steps[f"{kind}_{shape_name}_{threads}t"] = step_time(kind, widths, threads, max(2, int(n * k)), dev)
    best = min(thread_counts, key=lambda t: steps[f"gbp_paper_{t}t"])
    if dev.type == "cpu":
        floors = {kind: floor_time(kind, PAPER, best, max(2, int(40 * k))) for kind in ("gbp", "bp")}
        out["floor"] = {"mf_matmul_and_noise_s": floors["gbp"], "plain_matmul_s": floors["bp"],
                        "ratio_floor": floors["gbp"] / steps[f"bp_paper_{best}t"]}
    out.update({
        "steps_s": steps, "threads": best,
        "mf_step_s": steps[f"gbp_paper_{best}t"], "plain_step_s": steps[f"bp_paper_{best}t"],
        "ratio": steps[f"gbp_paper_{best}t"] / steps[f"bp_paper_{best}t"],
        "ratio_wide": steps[f"gbp_wide_{best}t"] / steps[f"bp_wide_{best}t"],
        "ratio_by_threads": {t: steps[f"gbp_paper_{t}t"] / steps[f"bp_paper_{t}t"] for t in thread_counts},
    })
    data = mf.load_dataset("mnist", n_train=10_000)
    run = mf.train(mf.TrainConfig(epochs=3), data=data, progress=False, threads=best, device=dev)
    out["epoch_s"] = run.info["epoch_s"]
    rep = replicas(data, best, 1 if args.quick else 3, dev)
    out["replicas"] = rep
    out["replicas_speedup"] = rep["speedup"]
    with mf.num_threads(best):
        r0 = rss_mib()
        t = time.perf_counter()
        mf.perturbation(run.params, data.x_test, data.y_test, n_samples=10, generator=mf.generator(0))
        out["perturbation_s"], out["perturbation_peak_rss_growth_mib"] = time.perf_counter() - t, rss_mib() - r0
        net5 = mf.MFNet((784, 100, 100, 100, 10)).init_(0.05, 0.01, 0.0, generator=mf.generator(1))
        with torch.no_grad():
            for layer in net5.layers:  # a trained-like mixture of boundary and interior values
                layer.pi.copy_(torch.rand(layer.pi.shape, generator=mf.generator(2)).where(
                    torch.rand(layer.pi.shape, generator=mf.generator(3)) < 0.5, torch.zeros(())))
        r0 = rss_mib()
        t = time.perf_counter()
        mf.layer_entropies(net5.state(), n_mc=100, generator=mf.generator(4))
        out["entropy_s"], out["entropy_peak_rss_growth_mib"] = time.perf_counter() - t, rss_mib() - r0
    target = Path(__file__).with_name("results.json" if dev.type == "cpu" else "results-cuda.json")
    if not args.quick:
        target.write_text(json.dumps(out, indent=1) + "\n")
    w = max(map(len, out))
    for key, v in out.items():
        if key not in ("steps_s", "replicas", "floor"):
            print(f"{key:<{w}}  {v:.4g}" if isinstance(v, float) else f"{key:<{w}}  {v}")
    print(f"  replicas: 5 together {rep['together_s']:.2f} s, 5 sequential {rep['sequential_s']:.2f} s ({rep['epochs']} epochs)")
    for key, v in steps.items():
        print(f"  step {key:<18} {1e3 * v:8.2f} ms")
    if "floor" in out:
        f = out["floor"]
        print(f"  paper shape, unavoidable work: mean-field products + noise {1e3 * f['mf_matmul_and_noise_s']:.2f} ms, "
              f"plain products {1e3 * f['plain_matmul_s']:.2f} ms; that alone is {f['ratio_floor']:.2f} x a plain step")
    print(f"(written to {target})" if not args.quick else "(--quick: nothing written)")


if __name__ == "__main__":
    main()
