"""The benchmark's own arithmetic: block timing and the performance table (not the machine's speed)."""
import importlib.util
import json
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_interleaved_takes_turns_and_keeps_every_round(bench, monkeypatch):
    clock = iter(range(1000))
    monkeypatch.setattr(bench.time, "perf_counter", lambda: float(next(clock)))
    calls = []
    fns = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    per_round = {}
    best = bench.interleaved(fns, n=2, rounds=3, per_round=per_round)
    assert calls[6:] == ["a", "a", "b", "b"] * 3  # 3 warm-up calls each, then blocks of 2 taking turns
    assert per_round == {"a": [0.5] * 3, "b": [0.5] * 3}  # every block spans one clock tick, 2 calls
    assert best == {"a": 0.5, "b": 0.5}


def test_markdown_reports_the_measured_numbers(bench):
    out = {
        "steps_s": {"gbp_paper_1t": 4e-3, "bp_paper_1t": 2e-3, "gbp_paper_2t": 3e-3, "bp_paper_2t": 1.25e-3,
                    "gbp_wide_2t": 0.05, "bp_wide_2t": 0.025},
        "threads": 2, "mf_step_s": 3e-3, "plain_step_s": 1.25e-3, "ratio": 2.4, "ratio_wide": 2.0,
        "ratio_by_threads": {1: 2.0, 2: 2.4}, "ratio_rounds": {"min": 2.3, "median": 2.45, "max": 2.6, "n": 7},
        "floor": {"mf_matmul_and_noise_s": 2e-3, "plain_matmul_s": 1e-3, "ratio_floor": 1.6},
        "epoch_s": 0.2, "perturbation_s": 6.0, "perturbation_peak_rss_growth_mib": 30.0,
        "entropy_s": 0.4, "entropy_peak_rss_growth_mib": 190.0, "machine": "test machine", "device": "cpu",
    }
    md = bench.markdown(out)
    assert "| 3.00 ms | 1.25 ms | **2.40** (per round: 2.30 to 2.60, median 2.45) |" in md
    assert "**2.00** |" in md
    assert "paper shape, 1 thread | 4.00 ms | 2.00 ms | 2.00 |" in md
    assert "| one paper-recipe epoch (20 steps + three test evaluations) | 0.200 s |" in md
    assert "6.0 s (+30 MiB peak) |" in md
    assert "fastest thread count: 2." in md
    assert "test-set evaluation" not in md  # results of an older bench: no row
    out["evaluation_s"] = {"1": 0.08, "2": 0.05}  # as JSON gives them back: keys are strings
    assert ("| test-set evaluation (10,000 images, three ways), 1 thread / 2 threads | 80.00 ms / 50.00 ms "
            "(1.60× faster on 2 threads) |") in bench.markdown(out)
    out["evaluation_at_once_s"] = {"1": 0.1, "2": 0.05}
    assert ("80.00 ms / 50.00 ms (1.60× faster on 2 threads; all 10,000 at once: 100.00 ms / 50.00 ms) |"
            in bench.markdown(out))
    parts = {"epoch": 0.16, "products": 0.08, "random draws": 0.01, "rest": 0.07}
    out["epoch_parts_s"] = {"1": parts, "2": {"epoch": 0.1, "products": 0.04, "random draws": 0.01, "rest": 0.05}}
    assert ("| one paper-recipe epoch by kind of work (the parts from torch's profiler), 1 thread / 2 threads: epoch 160.00 ms / 100.00 ms "
            "(1.60×); products 80.00 ms / 40.00 ms (2.00×); random draws 10.00 ms / 10.00 ms (1.00×); "
            "rest 70.00 ms / 50.00 ms (1.40×) |") in bench.markdown(out)
    out["late_epoch_steps_s"] = {"1": {"flushed": 0.1, "kept": 0.25}, "2": {"flushed": 0.06, "kept": 0.12}}
    md = bench.markdown(out)
    assert "denormals flushed to zero / kept, 1 thread | 100.00 ms / 250.00 ms (2.50× faster flushed) |" in md
    assert "denormals flushed to zero / kept, 2 threads | 60.00 ms / 120.00 ms (2.00× faster flushed) |" in md


def test_markdown_reports_the_sweep_speedup(bench):
    out = {
        "steps_s": {"gbp_paper_2t": 3e-3, "bp_paper_2t": 1.25e-3, "gbp_wide_2t": 0.05, "bp_wide_2t": 0.025},
        "threads": 2, "mf_step_s": 3e-3, "plain_step_s": 1.25e-3, "ratio": 2.4, "ratio_wide": 2.0,
        "ratio_by_threads": {2: 2.4}, "ratio_rounds": {"min": 2.3, "median": 2.45, "max": 2.6, "n": 7},
        "epoch_s": 0.2, "perturbation_s": 6.0, "perturbation_peak_rss_growth_mib": 30.0,
        "entropy_s": 0.4, "entropy_peak_rss_growth_mib": 190.0, "machine": "test machine", "device": "cpu",
        "sweep": {"runs": 4, "epochs": 5, "sequential_threads": 2, "sequential_s": 5.0, "best_workers": "2",
                  "workers": {"1": {"s": 7.0, "speedup": 5 / 7}, "2": {"s": 3.5, "speedup": 5 / 3.5}}},
        "sweep_speedup": 5 / 3.5,
    }
    # the 1-worker sweep (one thread) takes 7.0 s, the sequential runs on 2 threads 5.0 s: a run on 2 threads
    # is 1.4x faster, so 2 workers of 1 thread do at most 2 / 1.4 = 1.43x the work. The speed-up itself has
    # three decimals: 1.296 must not print as 1.30
    assert "| sweep speed-up: 4 paper-recipe runs (5 epochs) in parallel workers of 1 thread against one after " \
           "another (2 threads, 5.0 s) | **1.429×** (1 worker: 0.714×, 2 workers: 1.429×; at most 1.43× = " \
           "2 × 5.0 s / 7.0 s, the same runs on 2 threads and on 1) |" in bench.markdown(out)
    out["sweep"]["workers"]["2"]["overhead_s"] = 1.5
    assert "on 2 threads and on 1; of the 3.5 s of 2 workers, 1.5 s start and close them) |" in bench.markdown(out)
    out["sweep"]["repeats"] = 2
    assert "another (2 threads, 5.0 s); each time the best of 2 turns | **1.429×**" in bench.markdown(out)
    out["sweep"]["workers"]["2"]["per_turn"] = [1.25, 5 / 3.5]
    assert "1.5 s start and close them; 2 workers within each turn: 1.25×, 1.43×) |" in bench.markdown(out)
    out["sweep"]["fresh_processes"] = True
    assert ("another (2 threads, 5.0 s), each way in a fresh process; each time the best of 2 turns |"
            in bench.markdown(out))
    del out["sweep"]
    assert "sweep speed-up" not in bench.markdown(out)  # results of an older bench: no row


def test_each_setting_of_the_sweep_timing_fills_a_fresh_cache_in_a_fresh_process(bench):
    """The sweep speed-up's settings, each run by a new Python process (one-epoch runs here): the
    sequential runs and a sweep of two workers both leave every run in their cache, and a setting
    that fails is reported with the child's error."""
    assert bench.in_fresh_process("sequential", 2, 1) > 0
    assert bench.in_fresh_process("2", 2, 1) > 0  # two loky workers (one job would train in the process)
    with pytest.raises(RuntimeError, match="--time-setting nonsense"):
        bench.in_fresh_process("nonsense", 1, 1)


def test_epoch_parts_finds_the_products_and_the_draws_in_the_profile(bench):
    """The profiler's op names that :data:`PARTS` sums exist in this torch (a renamed op would
    silently count as 0), and the parts fit inside the epoch they split."""
    import torch

    import mfcredit as mf
    g = mf.generator(0)
    data = mf.Data(torch.rand(10_000, 784, generator=g), torch.randint(0, 10, (10_000,), generator=g),
                   torch.rand(100, 784, generator=g), torch.randint(0, 10, (100,), generator=g))
    parts = bench.epoch_parts(data, threads=1, epochs=1)
    assert parts["products"] > 0 and parts["random draws"] > 0
    assert parts["products"] + parts["random draws"] < parts["epoch"]
    assert parts["rest"] == pytest.approx(parts["epoch"] - parts["products"] - parts["random draws"])


def test_the_committed_table_is_the_committed_results_file(bench):
    """docs/performance.md's benchmark block is bench.markdown of bench/results.json as read from disk
    (JSON keys are strings): the table carries exactly the committed numbers, and can be rewritten
    from the file alone."""
    root = Path(__file__).resolve().parents[1]
    out = json.loads((root / "bench" / "results.json").read_text())
    block = re.search(r"<!-- bench:start -->\n(.*?)<!-- bench:end -->", (root / "docs" / "performance.md").read_text(),
                      flags=re.S).group(1)
    assert block == bench.markdown(out).strip() + "\n"
