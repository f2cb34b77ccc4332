"""One paper-recipe run (seed 0, 200 epochs, M = 10,000) and its BP baseline, in this process with the
default threads: their wall time, final test errors and (gBP) category fractions. Writes
bench/paper_run.json. Trains from scratch (no cache) so the timing is real.

    .venv/bin/python bench/paper_run.py [--threads N]
"""
import argparse
import json
import platform
import time
from pathlib import Path

import torch

import mfcredit as mf

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=None)
args = p.parse_args()

data = mf.load_dataset("mnist", n_train=10_000)
out = {"machine": f"{platform.machine()}, {torch.get_num_threads()} cores visible to torch", "torch": torch.__version__}
for kind in ("gbp", "bp"):
    cfg = mf.TrainConfig(model=kind)
    t = time.perf_counter()
    run = mf.train(cfg, seed=0, data=data, threads=args.threads, progress=False)
    row = {"wall_s": round(time.perf_counter() - t, 1), "epoch_s": round(run.info["epoch_s"], 3),
           "threads": run.info["threads"],
           "test_error": {k: run.final(k) for k in ("sampled", "mf_noisy", "mf_mean")}}
    if kind == "gbp":
        row["fractions"] = [{k: round(v, 4) for k, v in r.items()} for r in mf.category_fractions(run.params)]
    out[kind] = row
    print(kind, json.dumps(row))
Path(__file__).with_name("paper_run.json").write_text(json.dumps(out, indent=1) + "\n")
