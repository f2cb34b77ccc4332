"""The whole book in units of one paper-recipe run: times one run (seed 0, 200 epochs, M = 10,000, the
test set evaluated at the end only, the default threads, trained from scratch in this process), and
divides the time of the last build from scratch (results/timings.json, written by
`make figures RETRAIN=1`) by it. Run it on the same machine just before that build, with nothing
else running; writes bench/book_units.json.

    .venv/bin/python bench/book_units.py            # time the unit run now
    .venv/bin/python bench/book_units.py --ratio    # after the build: the book in units of that run
"""
import argparse
import json
import platform
import time
from pathlib import Path

import torch

import mfcredit as mf

OUT = Path(__file__).with_name("book_units.json")
p = argparse.ArgumentParser()
p.add_argument("--ratio", action="store_true", help="only compute the ratio from the saved unit and results/timings.json")
args = p.parse_args()
if not args.ratio:
    data = mf.load_dataset("mnist", n_train=10_000)
    cfg = mf.TrainConfig(eval_every=200)
    t = time.perf_counter()
    run = mf.train(cfg, seed=0, data=data, progress=False)
    unit = time.perf_counter() - t
    OUT.write_text(json.dumps({"unit_s": round(unit, 1), "threads": run.info["threads"], "torch": torch.__version__,
                               "machine": platform.machine(), "test_error_sampled": run.final()}, indent=1) + "\n")
    print(f"one paper-recipe run: {unit:.1f} s on {run.info['threads']} threads")
unit = json.loads(OUT.read_text())
timings = json.loads((mf.utils.REPO / "results" / "timings.json").read_text())
book = sum(t["seconds"] for t in timings.values())
unit["book_s"], unit["book_units"] = round(book, 1), round(book / unit["unit_s"], 1)
OUT.write_text(json.dumps(unit, indent=1) + "\n")
print(f"the last build from scratch: {book / 60:.1f} min = {book / unit['unit_s']:.1f} paper-recipe runs")
