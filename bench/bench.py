"""`make bench`: time the pieces of the pipeline on this machine; writes bench/results.json.

    .venv/bin/python bench/bench.py [--device cuda] [--quick]

Measures, with the package's own training step (:func:`mfcredit.training.train_step`: noisy mean-field
pass, cross-entropy, gBP, decoupled decay, fused Adam, projection):
  - one step of the mean-field network and of the same-shaped plain network, batch 500, at the paper
    shape (784-100-100-10) and a wide shape (784-1000-1000-10), for 1 and 2 threads; the ratios are
    taken at the thread count that is fastest for the mean-field step;
  - the floor: the matrix products of one step alone (and the noise draws), paper shape;
  - one paper-recipe epoch (20 steps and the three test evaluations on 10,000 images), and the
    evaluation alone (:func:`mfcredit.evaluate` of the 10,000 test images) with 1 and 2 threads, in
    its default blocks of 1,000 images per thread and all at once
    (a paper run evaluates after every epoch: part of how much a run gains from a second thread,
    which bounds the sweep speed-up below);
  - where a paper-recipe epoch's time goes, with 1 and 2 threads (torch's profiler over a short run):
    the matrix products, the random draws (one generator, drawn by one thread whatever the thread
    count) and the rest, which together set how much a run gains from a second thread (the epoch
    timed without the profiler, the parts with it);
  - the steps of one late epoch of a trained paper-recipe network (the shipped run of seed 0), with
    denormal floats flushed to zero, as training does, and kept, for 1 and 2 threads;
  - the full perturbation experiment (3 curves x 11 fractions x 10 samples) and the entropy of every
    connection of the 5-layer net, with their peak-RSS growth (tracemalloc does not see torch);
  - the sweep speed-up: 4 paper-recipe runs (200 epochs) through :func:`mfcredit.sweep` in 1, 2, ...
    cpu_count worker processes of one thread each, against the same 4 runs one after another through
    :func:`mfcredit.cached_train` with the default threads; every setting in a fresh process that has
    imported mfcredit and loaded the data, as a notebook kernel has, putting the runs into a fresh
    cache (the sweep starts its workers and closes them at the end, as in a notebook, and both are
    counted); and that fixed cost alone, a sweep of tiny runs (``--only-sweep``: measure just this and
    update its keys in bench/results.json); each time is the best of 2 turns (``--sweep-repeats``),
    the settings taking turns.
Timings are the best of 7 blocks, the networks compared taking turns block by block, to be
robust to other load on the machine; the ratio is also given within each round (min, median, max),
which shows how much one measurement of it varies here.
"""
import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KINETO_LOG_LEVEL", "99")  # before torch: the profiler's start and stop lines stay off the terminal
import torch

import mfcredit as mf
from mfcredit.training import adam, init_network, lr_at, train_step
from mfcredit.utils import flush_denormals, num_threads

PAPER, WIDE = (784, 100, 100, 10), (784, 1000, 1000, 10)


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved(fns: dict, n: int, rounds: int = 7, sync=lambda: None, per_round: dict | None = None) -> dict:
    """Seconds per call of each function: the best block of ``n`` calls over ``rounds`` rounds, the
    functions taking turns block by block, so a slow spell of the machine hits them all alike.
    ``per_round``, if a dict, receives every round's seconds per call, one list per function."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    sync()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t = time.perf_counter()
            for _ in range(n):
                fn()
            sync()
            times[k].append((time.perf_counter() - t) / n)
    if per_round is not None:
        per_round.update(times)
    return {k: min(v) for k, v in times.items()}


def step_fn(kind, widths, device="cpu"):
    """One training step (batch 500) of a fresh network, through ``train_step``."""
    cfg = mf.TrainConfig(model=kind, widths=widths)
    dev = torch.device(device)
    noise = mf.generator(0, dev)
    net = init_network(cfg, noise, dev)
    opt = adam(net, cfg, cfg.lr, dev)
    g = mf.generator(1, dev)
    x = torch.rand(500, widths[0], generator=g, device=dev)
    y = torch.randint(0, widths[-1], (500,), generator=g, device=dev)
    return lambda: train_step(net, opt, x, y, noise, cfg, cfg.lr)


def late_epoch_fn(run, data, flush: bool):
    """The 20 training steps of one late epoch of a trained paper-recipe network ``run`` (the shipped
    run of seed 0) at its last epoch's learning rate, with the fresh Adam the recipe makes every
    epoch; the denormal floats flushed to zero, as training does (:func:`mfcredit.utils.flush_denormals`),
    or kept. Trained, the network's loss is tiny and its gradients are full of denormals."""
    cfg = run.config
    net, lr, noise = run.network(), lr_at(cfg, cfg.epochs - 1), mf.generator(0)
    x, y = data.x_train[: cfg.n_train], data.y_train[: cfg.n_train]
    batches = torch.randperm(cfg.n_train, generator=mf.generator(1)).split(cfg.batch_size)

    def epoch():
        opt = adam(net, cfg, lr, torch.device("cpu"))
        with flush_denormals() if flush else contextlib.nullcontext():
            for idx in batches:
                train_step(net, opt, x[idx], y[idx], noise, cfg, lr)
    return epoch


#: Ops of each part of :func:`epoch_parts`: the matrix products and the random draws.
PARTS = {"products": ("aten::mm",), "random draws": ("aten::normal_", "aten::uniform_")}


def epoch_parts(data, threads: int, epochs: int = 10) -> dict:
    """Seconds per epoch of a paper-recipe run of ``epochs`` epochs on ``threads`` threads, and of its
    :data:`PARTS` (the ops' own time, from torch's profiler over the same run again) and 'rest' (the
    epoch less those: small tensor work, Python, the optimiser). The epoch is timed without the
    profiler, whose cost per op would otherwise land in 'rest'."""
    from torch.profiler import ProfilerActivity, profile
    cfg = mf.TrainConfig(epochs=epochs)
    mf.train(cfg.replace(epochs=1), 0, data=data, progress=False, threads=threads)  # first-call imports, warm caches
    epoch = mf.train(cfg, 0, data=data, progress=False, threads=threads).info["epoch_s"]
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        mf.train(cfg, 0, data=data, progress=False, threads=threads)
    own = {e.key: e.self_cpu_time_total * 1e-6 for e in prof.key_averages()}
    parts = {name: sum(own.get(op, 0.0) for op in ops) / epochs for name, ops in PARTS.items()}
    return {"epoch": epoch, **parts, "rest": epoch - sum(parts.values())}


def floor_fn(kind, widths):
    """Seconds per step of the matrix products alone (the same shapes a step multiplies: forward,
    weight gradients, input gradients; twice as many for the mean-field net), plus, for the
    mean-field net, drawing its noise: what no implementation of the step can avoid."""
    copies = 2 if kind == "gbp" else 1
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

    return products


def time_setting(setting: str, n_runs: int, epochs: int) -> float:
    """Run in a fresh process (``bench.py --time-setting``), which has imported mfcredit and loaded the
    data, as a notebook kernel has before it trains: seconds to put ``n_runs`` paper-recipe runs of
    ``epochs`` epochs into a fresh cache, one after another through :func:`mfcredit.cached_train` with
    the default threads (``setting`` 'sequential', what a notebook does without :func:`mfcredit.sweep`)
    or through ``mf.sweep`` in ``setting`` workers; 'overhead-<w>' times a sweep of w runs of one
    200-image epoch instead, the sweep's fixed cost alone. Shipped runs are not used."""
    os.environ["MFCREDIT_SHIPPED"] = "0"
    cfg = mf.TrainConfig(epochs=epochs)
    data = mf.load_dataset(cfg.dataset, n_train=cfg.n_train)
    if setting.startswith("overhead-"):
        n_jobs = int(setting.removeprefix("overhead-"))
        jobs = [(cfg.replace(n_train=200, epochs=1), s) for s in range(n_jobs)]
    else:
        n_jobs = None if setting == "sequential" else int(setting)
        jobs = [(cfg, s) for s in range(n_runs)]
    with tempfile.TemporaryDirectory() as fresh:
        t = time.perf_counter()
        if n_jobs is None:
            for c, s in jobs:
                mf.cached_train(c, s, cache_dir=fresh, data=data, progress=False)
        else:
            mf.sweep(jobs, cache_dir=fresh, n_jobs=n_jobs, progress=False)
        seconds = time.perf_counter() - t
        if len(list(Path(fresh).glob("*/metrics.json"))) != len(jobs):
            raise RuntimeError(f"setting {setting!r} did not leave all {len(jobs)} runs in the cache")
    return seconds


def in_fresh_process(setting: str, n_runs: int, epochs: int) -> float:
    """:func:`time_setting` in a new Python process; its seconds."""
    cmd = [sys.executable, __file__, "--time-setting", setting, "--runs", str(n_runs), "--epochs", str(epochs)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


def sweep_speedup(n_runs: int = 4, epochs: int | None = None, repeats: int = 2) -> dict:
    """Seconds for ``n_runs`` paper-recipe runs (the recipe's 200 epochs unless ``epochs`` is given) one
    after another (default threads) and through ``mf.sweep`` with 1 .. cpu_count workers (one thread
    each), every setting in a fresh process that has imported mfcredit and loaded the data, as a notebook
    kernel has (:func:`time_setting`). Both put the runs into a fresh cache; each sweep starts its workers
    and closes them, as a notebook's sweep does, and that is counted, and so is the sequential runs'
    own first-call cost (torch imports its compiler front end when a process builds its first
    optimiser); ``overhead_s`` is the sweep's fixed cost alone: a sweep of w runs of one
    200-image epoch. The speed-up of w workers is sequential / sweep time, best of ``repeats``, the
    settings taking turns; ``per_turn``, the speed-up within each turn, shows its spread. Whole paper
    runs, as the book trains them: with short runs the fixed costs (starting workers, loading and
    checking the data, writing the cache entry) weigh more than in the book, and the measurement says
    more about them than about training in parallel."""
    epochs = mf.TrainConfig().epochs if epochs is None else epochs
    counts = list(range(1, (os.cpu_count() or 1) + 1))
    times = {"sequential": [], **{w: [] for w in counts}}
    overhead = {w: [] for w in counts}
    for _ in range(repeats):
        times["sequential"].append(in_fresh_process("sequential", n_runs, epochs))
        for w in counts:
            overhead[w].append(in_fresh_process(f"overhead-{w}", n_runs, epochs))
            times[w].append(in_fresh_process(str(w), n_runs, epochs))
    seq = min(times["sequential"])
    workers = {w: {"s": min(times[w]), "speedup": seq / min(times[w]), "overhead_s": min(overhead[w]),
                   "per_turn": [a / b for a, b in zip(times["sequential"], times[w])]} for w in counts}
    best = max(counts, key=lambda w: workers[w]["speedup"])
    return {"runs": n_runs, "epochs": epochs, "sequential_threads": mf.default_threads(), "sequential_s": seq,
            "workers": workers, "best_workers": best, "repeats": repeats, "fresh_processes": True}


def add_sweep(out: dict, **kwargs) -> None:
    """Measure :func:`sweep_speedup` (``kwargs``) into ``out``: 'sweep', and 'sweep_speedup', that
    of the best worker count."""
    out["sweep"] = sweep_speedup(**kwargs)
    out["sweep_speedup"] = out["sweep"]["workers"][out["sweep"]["best_workers"]]["speedup"]


def markdown(out) -> str:
    """The benchmark block of docs/performance.md, written from the measured numbers."""
    st, t, f, rr = out["steps_s"], out["threads"], out.get("floor"), out["ratio_rounds"]
    ms = lambda v: f"{1e3 * v:.2f} ms"  # noqa: E731
    rows = [
        "| what | mean-field (gBP) | plain (BP) | ratio |",
        "|---|---|---|---|",
        f"| training step, 784-100-100-10, batch 500, {t} thread{'s' if t > 1 else ''} | {ms(out['mf_step_s'])} | {ms(out['plain_step_s'])} | "
        f"**{out['ratio']:.2f}** (per round: {rr['min']:.2f} to {rr['max']:.2f}, median {rr['median']:.2f}) |",
        f"| training step, 784-1000-1000-10, batch 500, {t} thread{'s' if t > 1 else ''} | {ms(st[f'gbp_wide_{t}t'])} | {ms(st[f'bp_wide_{t}t'])} | "
        f"**{out['ratio_wide']:.2f}** |",
    ]
    by_threads = {int(n): v for n, v in out["ratio_by_threads"].items()}  # str keys once read from results.json
    for n in sorted(by_threads):
        if n != t:
            rows.append(f"| training step, paper shape, {n} thread{'s' if n > 1 else ''} | {ms(st[f'gbp_paper_{n}t'])} | "
                        f"{ms(st[f'bp_paper_{n}t'])} | {by_threads[n]:.2f} |")
    if f:
        rows.append(f"| floor: the step's matrix products (+ noise draws), paper shape | {ms(f['mf_matmul_and_noise_s'])} | "
                    f"{ms(f['plain_matmul_s'])} | {f['ratio_floor']:.2f} × a plain step |")
    rows += [
        "",
        "| what | measured |",
        "|---|---|",
        f"| one paper-recipe epoch (20 steps + three test evaluations) | {out['epoch_s']:.3f} s |",
    ]
    ev = {int(n): v for n, v in out.get("evaluation_s", {}).items()}
    if ev:
        notes = [f"{ev[1] / ev[2]:.2f}× faster on 2 threads"] if 1 in ev and 2 in ev else []
        once = {int(n): v for n, v in out.get("evaluation_at_once_s", {}).items()}
        if once:  # the default takes 1,000 images per thread at a time
            notes.append(f"all 10,000 at once: {' / '.join(ms(once[n]) for n in sorted(once))}")
        ratio = f" ({'; '.join(notes)})" if notes else ""
        rows.append(f"| test-set evaluation (10,000 images, three ways), "
                    f"{' / '.join(f'{n} thread' + ('s' if n > 1 else '') for n in sorted(ev))} | "
                    f"{' / '.join(ms(ev[n]) for n in sorted(ev))}{ratio} |")
    parts = out.get("epoch_parts_s", {})
    if "1" in parts and "2" in parts:
        one, two = parts["1"], parts["2"]
        rows.append("| one paper-recipe epoch by kind of work (the parts from torch's profiler), 1 thread / 2 threads: "
                    + "; ".join(f"{k} {ms(one[k])} / {ms(two[k])} ({one[k] / two[k]:.2f}×)"
                                for k in ("epoch", "products", "random draws", "rest")) + " |")
    for n, v in sorted(out.get("late_epoch_steps_s", {}).items()):
        rows.append(f"| the 20 steps of a late epoch (trained paper-recipe network), denormals flushed to zero / kept, "
                    f"{n} thread{'s' if int(n) > 1 else ''} | {ms(v['flushed'])} / {ms(v['kept'])} "
                    f"({v['kept'] / v['flushed']:.2f}× faster flushed) |")
    rows += [
        f"| perturbation figure (3 curves × 11 fractions × 10 samples, one model) | {out['perturbation_s']:.1f} s "
        f"(+{out['perturbation_peak_rss_growth_mib']:.0f} MiB peak) |",
        f"| entropy of every connection, 784-100-100-100-10 | {out['entropy_s']:.2f} s "
        f"(+{out['entropy_peak_rss_growth_mib']:.0f} MiB peak) |",
    ]
    sw = out.get("sweep")
    if sw:
        per = ", ".join(f"{w} worker{'s' if int(w) > 1 else ''}: {v['speedup']:.3f}×" for w, v in sw["workers"].items())
        n, c = sw["sequential_threads"], max(int(w) for w in sw["workers"])
        ws = {str(w): v for w, v in sw["workers"].items()}
        # c workers of 1 thread do at most c runs in the time of one 1-thread run (the 1-worker sweep's
        # run time), against one run in the time of an n-thread run (the sequential one's)
        bound = (f"; at most {c * sw['sequential_s'] / ws['1']['s']:.2f}× = {c} × {sw['sequential_s']:.1f} s / "
                 f"{ws['1']['s']:.1f} s, the same runs on {n} threads and on 1")
        best = ws[str(sw["best_workers"])]
        if "overhead_s" in best:  # included in the sweep's time
            bound += (f"; of the {best['s']:.1f} s of {sw['best_workers']} workers, {best['overhead_s']:.1f} s start "
                      "and close them")
        turns = ", each way in a fresh process" if sw.get("fresh_processes") else ""
        turns += f"; each time the best of {sw['repeats']} turns" if sw.get("repeats", 1) > 1 else ""
        spread = best.get("per_turn", [])
        if len(spread) > 1:
            bound += f"; {sw['best_workers']} workers within each turn: {', '.join(f'{v:.2f}×' for v in spread)}"
        rows.append(f"| sweep speed-up: {sw['runs']} paper-recipe runs ({sw['epochs']} epochs) in parallel workers of "
                    f"1 thread against one after another ({n} threads, {sw['sequential_s']:.1f} s){turns} "
                    f"| **{out['sweep_speedup']:.3f}×** ({per}{bound}) |")
    rows += [
        "",
        f"Machine: {out['machine']}; device {out['device']}; fastest thread count: {t}.",
    ]
    return "\n".join(rows) + "\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu", help="cpu or cuda (GPU numbers go to bench/results-cuda.json)")
    p.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test of the script)")
    p.add_argument("--only-sweep", action="store_true", help="measure only the sweep speed-up; update its keys")
    p.add_argument("--sweep-repeats", type=int, default=2, help="sweep timings: the best of this many turns (default 2)")
    p.add_argument("--time-setting", help=argparse.SUPPRESS)  # one setting of the sweep timing, in a fresh process
    p.add_argument("--runs", type=int, default=4, help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.time_setting:
        return print(time_setting(args.time_setting, args.runs, args.epochs or mf.TrainConfig().epochs))
    if args.only_sweep:
        return only_sweep(args.sweep_repeats)
    dev = torch.device(args.device)
    k = 0.2 if args.quick else 1.0
    name = "cpu" if dev.type == "cpu" else torch.cuda.get_device_name(dev)
    out = {"machine": f"{platform.machine()}, {torch.get_num_threads()} cores seen by torch, torch {torch.__version__}",
           "device": name}
    steps, floors, rounds = {}, {}, {}
    thread_counts = (1, 2) if dev.type == "cpu" else (1,)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for threads in thread_counts:
        with num_threads(threads):
            for shape_name, widths, n in (("paper", PAPER, 40), ("wide", WIDE, 4)):
                fns = {f"{kind}_{shape_name}_{threads}t": step_fn(kind, widths, dev) for kind in ("gbp", "bp")}
                if dev.type == "cpu" and shape_name == "paper":
                    fns.update({f"floor_{kind}_{threads}t": floor_fn(kind, widths) for kind in ("gbp", "bp")})
                for key, v in interleaved(fns, max(2, int(n * k)), rounds=3 if args.quick else 7, sync=sync,
                                          per_round=rounds).items():
                    (floors if key.startswith("floor") else steps)[key] = v
    best = min(thread_counts, key=lambda t: steps[f"gbp_paper_{t}t"])
    if floors:
        out["floor"] = {"mf_matmul_and_noise_s": floors[f"floor_gbp_{best}t"], "plain_matmul_s": floors[f"floor_bp_{best}t"],
                        "ratio_floor": floors[f"floor_gbp_{best}t"] / steps[f"bp_paper_{best}t"]}
    out.update({
        "steps_s": steps, "threads": best,
        "mf_step_s": steps[f"gbp_paper_{best}t"], "plain_step_s": steps[f"bp_paper_{best}t"],
        "ratio": steps[f"gbp_paper_{best}t"] / steps[f"bp_paper_{best}t"],
        "ratio_wide": steps[f"gbp_wide_{best}t"] / steps[f"bp_wide_{best}t"],
        "ratio_by_threads": {t: steps[f"gbp_paper_{t}t"] / steps[f"bp_paper_{t}t"] for t in thread_counts},
    })
    # the spread: the ratio within each round (both steps timed back to back), paper shape, best thread count
    per = sorted(a / b for a, b in zip(rounds[f"gbp_paper_{best}t"], rounds[f"bp_paper_{best}t"]))
    out["ratio_rounds"] = {"min": per[0], "median": per[len(per) // 2], "max": per[-1], "n": len(per)}
    data = mf.load_dataset("mnist", n_train=10_000)
    run = mf.train(mf.TrainConfig(epochs=3), data=data, progress=False, threads=best, device=dev)
    out["epoch_s"] = run.info["epoch_s"]
    evaluations, net, x_test, y_test = {}, run.network(dev), data.x_test.to(dev), data.y_test.to(dev)
    for threads in thread_counts:
        with num_threads(threads):
            fns = {threads: lambda: mf.evaluate(net, x_test, y_test, mf.generator(5, dev)),
                   f"{threads} at once": lambda: mf.evaluate(net, x_test, y_test, mf.generator(5, dev), block=len(x_test))}
            evaluations.update(interleaved(fns, 3 if args.quick else 10, rounds=3 if args.quick else 7, sync=sync))
    out["evaluation_s"] = {t: evaluations[t] for t in thread_counts}
    out["evaluation_at_once_s"] = {t: evaluations[f"{t} at once"] for t in thread_counts}
    if dev.type == "cpu":
        out["epoch_parts_s"] = {str(t): epoch_parts(data, t, epochs=3 if args.quick else 10) for t in thread_counts}
    trained = mf.shipped.load(mf.TrainConfig(), 0) if dev.type == "cpu" else None
    if trained is not None:
        late = {}
        for threads in thread_counts:
            with num_threads(threads):
                fns = {f"{kind}_{threads}": late_epoch_fn(trained, data, kind == "flushed") for kind in ("flushed", "kept")}
                late.update(interleaved(fns, 2, rounds=3 if args.quick else 7))
        out["late_epoch_steps_s"] = {str(t): {k: late[f"{k}_{t}"] for k in ("flushed", "kept")} for t in thread_counts}
    with num_threads(best):
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
    if dev.type == "cpu":
        add_sweep(out, epochs=5 if args.quick else None, repeats=1 if args.quick else args.sweep_repeats)
    target = Path(__file__).with_name("results.json" if dev.type == "cpu" else "results-cuda.json")
    if not args.quick:
        target.write_text(json.dumps(out, indent=1) + "\n")
        mf.utils.replace_marked_block(Path(__file__).resolve().parents[1] / "docs" / "performance.md",
                                      "bench" if dev.type == "cpu" else "bench-cuda", markdown(out))
    rr = out["ratio_rounds"]
    w = max(map(len, out))
    for key, v in out.items():
        if key not in ("steps_s", "floor", "ratio_rounds", "sweep", "late_epoch_steps_s"):
            print(f"{key:<{w}}  {v:.4g}" if isinstance(v, float) else f"{key:<{w}}  {v}")
    for key, v in steps.items():
        print(f"  step {key:<18} {1e3 * v:8.2f} ms")
    if "floor" in out:
        f = out["floor"]
        print(f"  paper shape, unavoidable work: mean-field products + noise {1e3 * f['mf_matmul_and_noise_s']:.2f} ms, "
              f"plain products {1e3 * f['plain_matmul_s']:.2f} ms; that alone is {f['ratio_floor']:.2f} x a plain step")
    for n, v in out.get("late_epoch_steps_s", {}).items():
        print(f"  late epoch's steps, {n} thread(s): denormals flushed {1e3 * v['flushed']:.1f} ms, kept {1e3 * v['kept']:.1f} ms")
    print(f"  ratio within a round: {rr['min']:.2f} to {rr['max']:.2f} (median {rr['median']:.2f}, {rr['n']} rounds)")
    print_sweep(out.get("sweep"))
    print(f"(written to {target})" if not args.quick else "(--quick: nothing written)")


def print_sweep(sw) -> None:
    if sw:
        print(f"  sweep: {sw['runs']} runs x {sw['epochs']} epochs one after another ({sw['sequential_threads']} threads): "
              f"{sw['sequential_s']:.2f} s")
        for w, v in sw["workers"].items():
            print(f"  sweep: {w} worker(s) of 1 thread: {v['s']:.2f} s, speed-up {v['speedup']:.2f}")


def only_sweep(repeats: int) -> None:
    """Measure the sweep speed-up alone and update 'sweep' and 'sweep_speedup' in bench/results.json
    (the docs' table is rewritten by the next full ``make bench``)."""
    target = Path(__file__).with_name("results.json")
    out = json.loads(target.read_text()) if target.is_file() else {}
    add_sweep(out, repeats=repeats)
    target.write_text(json.dumps(out, indent=1) + "\n")
    print_sweep(out["sweep"])
    print(f"sweep_speedup {out['sweep_speedup']:.3f} (written to {target})")


if __name__ == "__main__":
    main()
