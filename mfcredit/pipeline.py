"""Run the numbered notebooks with papermill: ``python -m mfcredit.pipeline [--quick 1] NB...``.

Paper scale (``--quick 0``) executes every notebook IN PLACE with its own default parameters, so the
committed notebooks show the full-scale outputs (figures inline, through the inline matplotlib
backend and :func:`mfcredit.nb.save_figure`), with papermill's per-cell timing metadata stripped (no
churn in git). Quick mode passes ``quick=True`` and writes the executed copies to build/quick/.
Each executed notebook is written to a temporary file and renamed, so an interrupted run leaves
the previous notebook intact; training runs are cached (mfcredit.cache) and resume where they
stopped. The index notebook (``00-*``) runs last, since it shows the timings of the others, which
go to results/timings.json when the build starts from an empty cache. After the last notebook the
README's claims table, beyond-the-paper table and timings table are refreshed from results/claims.md,
results/beyond.md and results/timings.json.

The terminal shows which notebook runs and, through $MFCREDIT_PROGRESS=terminal (set for the
kernels unless already set), the bar of each :func:`mfcredit.sweep` over its training runs: the
kernels write it to their own stderr, which is this terminal (they are started with
``IPKernelApp.capture_fd_output=False``, so ipykernel does not forward it into the notebook). The kernels
are started with CurveZMQ transport encryption where pyzmq supports it (jupyter_client's
``KernelManager.transport_encryption = "auto"``), so ipykernel has no plain-TCP warning to print.
``--retrain 1`` deletes every run of the training cache first and does not use the shipped runs
(data/runs): every run trains from scratch, and the shipped runs are rewritten at the end. Only such
builds record their times.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import nbformat
import papermill as pm
import zmq
from traitlets.config import Config

from . import cache, shipped
from .nb import PARAMS, ROOT
from .utils import REPO, atomic_write_bytes, remove_leftovers, replace_marked_block

TIMING_KEYS = ("start_time", "end_time", "duration", "exception", "status")
#: The matplotlib backend of the kernels: inline, so every figure is part of the executed notebook.
INLINE = "module://matplotlib_inline.backend_inline"
WIDGET = "application/vnd.jupyter.widget-view+json"


def strip_metadata(nb, drop_injected: bool = False) -> None:
    """Remove per-run papermill/execution metadata so reruns do not rewrite unchanged notebooks;
    with ``drop_injected``, also papermill's injected-parameters cell."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    if drop_injected:
        nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # papermill gives it a random id on every run
        cell.metadata.pop("execution", None)
        if cell.metadata.get("tags") == []:  # papermill adds empty tags; the sources (jupytext) have none
            cell.metadata.pop("tags")
        if cell.cell_type == "code":  # live widgets need a kernel: the committed notebook shows their static drawing
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
        pmeta = cell.metadata.get("papermill")
        if pmeta is not None:
            for k in TIMING_KEYS:
                pmeta.pop(k, None)
            if not pmeta:
                cell.metadata.pop("papermill")


def check_parameters(path: Path, parameters: dict) -> None:
    """Refuse parameters the notebook does not declare (papermill would only warn), naming them."""
    declared = pm.inspect_notebook(str(path))
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(f"{path.name}: unknown parameter(s) {unknown}; it declares {sorted(declared)}")
    for name, value in parameters.items():
        PARAMS[name].check(name, value)


def run_notebook(path: Path, quick: bool, timeout: int, parameters: dict | None = None) -> float:
    """Execute one notebook (in place at paper scale, to build/quick/ in quick mode); seconds taken."""
    parameters = {**(parameters or {}), **({"quick": True} if quick else {})}
    check_parameters(path, parameters)
    out = ROOT / "build" / "quick" / path.name if quick else path
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    t = time.perf_counter()
    try:
        pm.execute_notebook(str(path), str(tmp), parameters=parameters, kernel_name="python3",
                            cwd=str(path.parent), execution_timeout=timeout, progress_bar=False,
                            config=kernel_config())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    nb = nbformat.read(tmp, as_version=4)
    strip_metadata(nb, drop_injected=not quick)
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    return time.perf_counter() - t


def kernel_config() -> Config:
    """Traitlets config of the kernel manager papermill starts: CurveZMQ keys provisioned by
    jupyter_client when pyzmq has Curve and the kernelspec declares it (ipykernel does), else
    plain TCP as before (and ipykernel's warning about it); the kernel's own stderr is not captured;
    and the kernel is stopped at once when the notebook has run (its process group killed, as nbval
    does): everything it wrote is on disk by then (figures and cache entries are written atomically,
    a sweep closes its workers when it ends), and a polite shutdown of a kernel that trained only
    waits (seconds) for the resource trackers of its closed pools."""
    return Config({"KernelManager": {"transport_encryption": "auto" if zmq.has("curve") else "disabled"},
                   # ipykernel would forward what the kernel writes to its own stderr (the progress
                   # bars of MFCREDIT_PROGRESS=terminal) into the notebook; it belongs to the terminal
                   "NotebookClient": {"extra_arguments": ["--IPKernelApp.capture_fd_output=False"],
                                      "shutdown_kernel": "immediate"}})


def remove_stale_temporaries(notebooks) -> list[Path]:
    """Delete the temporary files a killed run left in the folders this pipeline writes (figures,
    results, executed notebooks). Their targets were never replaced, so nothing else is affected."""
    folders = {ROOT / k / q for k in ("figures", "results") for q in ("", "quick")}
    folders |= {ROOT / "build" / "quick"} | {Path(nb).resolve().parent for nb in notebooks}
    return [junk for d in sorted(folders) for pattern in (".*.tmp", ".*.tmp.ipynb") for junk in remove_leftovers(d, pattern)]


#: One paper-recipe run timed on the machine just before a build from scratch (bench/book_units.py).
UNIT = REPO / "bench" / "book_units.json"


def timings_table(table: dict, unit: dict | None = None) -> str:
    """Markdown: each notebook's time in a build from scratch and the runs it trained; with ``unit``
    (bench/book_units.json: one paper-recipe run's seconds), the whole build in units of that run."""
    fmt = lambda s: f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"  # noqa: E731
    rows = ["| notebook | time | runs trained |", "|---|---|---|"]
    rows += [f"| {name} | {fmt(t['seconds'])} | {t['runs_trained']} |" for name, t in sorted(table.items())]
    total = sum(t["seconds"] for t in table.values())
    rows.append(f"| all | {fmt(total)} | {sum(t['runs_trained'] for t in table.values())} |")
    if unit:
        rows.append(f"| all, in paper-recipe runs (one run, seed 0, 200 epochs: {unit['unit_s']:.0f} s on "
                    f"{unit['threads']} threads, timed just before) | {total / unit['unit_s']:.1f} runs | |")
    return "\n".join(rows) + "\n"


def update_readme(quick: bool) -> None:
    """Copy results/claims.md, results/beyond.md (with the rows of results/planted.md) and the
    notebooks' timings into the README's blocks (paper scale only)."""
    claims, timings = ROOT / "results" / "claims.md", ROOT / "results" / "timings.json"
    beyond, planted = ROOT / "results" / "beyond.md", ROOT / "results" / "planted.md"
    if not quick and claims.is_file():
        replace_marked_block(REPO / "README.md", "claims", claims.read_text())
    if not quick and beyond.is_file():  # notebook 7's table, then notebook 8's rows
        rows = beyond.read_text().rstrip("\n") + ("\n" + planted.read_text() if planted.is_file() else "\n")
        replace_marked_block(REPO / "README.md", "beyond", rows)
    if not quick and timings.is_file():
        unit = json.loads(UNIT.read_text()) if UNIT.is_file() else None
        replace_marked_block(REPO / "README.md", "timings", timings_table(json.loads(timings.read_text()), unit))


def peak_mib() -> float:
    """Largest peak resident memory of any finished child process (the notebook kernels), MiB.
    ru_maxrss is in KiB on Linux."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def record_timings(quick: bool, times: dict) -> None:
    """Record a from-scratch build's times, {notebook: {"seconds", "runs_trained"}}, in
    results[/quick]/timings.json (read by the index notebook and the README's table), keeping the
    entries of notebooks this build did not run."""
    path = ROOT / "results" / ("quick" if quick else "") / "timings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    table = {**(json.loads(path.read_text()) if path.is_file() else {}), **times}
    atomic_write_bytes(path, (json.dumps(table, indent=1, sort_keys=True) + "\n").encode())


#: The timings table's row of :func:`prefetch_shipped`.
PREFETCH = "(shipped runs, trained first)"


def prefetch_shipped() -> dict:
    """Train the shipped runs (the paper recipe's and the 2022 variant's seeds, which notebooks 1 to
    4 and 6 to 8 share) in one parallel sweep before the first notebook, instead of notebook 1
    training its one run while the other cores wait. Returns its timings row."""
    from .sweep import sweep

    print(f"[pipeline] training the {len(shipped.jobs())} shipped runs first, in parallel", flush=True)
    t = time.perf_counter()
    before = len(cache.entries())
    sweep(shipped.jobs())
    return {"seconds": round(time.perf_counter() - t, 1), "runs_trained": len(cache.entries()) - before}


def ship_runs() -> None:
    """Rewrite data/runs from the runs this build trained (:mod:`mfcredit.shipped`); runs the
    notebooks did not train (a partial build) keep their shipped files."""
    found = [(job, cache.load_cached(*job, shipped.THREADS)) for job in shipped.jobs()]
    paths = shipped.write([run for _, run in found if run is not None])
    print(f"[pipeline] rewrote {len(paths)} of {len(found)} shipped runs in "
          f"{shipped.FOLDER}", flush=True)


def order(notebooks) -> list[Path]:
    """The numbered notebooks in order, the index (00-*) last: it reports the others' timings."""
    return sorted(notebooks, key=lambda p: (p.name.startswith("00"), p.name))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", type=int, default=0, choices=(0, 1))
    p.add_argument("--timeout", type=int, default=3600, help="seconds allowed for one cell")
    p.add_argument("--retrain", type=int, default=0, choices=(0, 1), help="1: empty the training cache first")
    p.add_argument("notebooks", nargs="+", type=Path)
    args = p.parse_args(argv)
    os.environ.setdefault("MFCREDIT_PROGRESS", "terminal")  # kernels inherit it: bars here, not in the outputs
    os.environ["MPLBACKEND"] = INLINE
    if args.quick:  # quick runs share nbval's cache, never the paper-scale entries
        os.environ.setdefault("MFCREDIT_CACHE", str(REPO / "cache" / "quick"))
    total = time.perf_counter()
    if args.retrain:  # neither the cache nor the shipped runs (data/runs) serve: the kernels inherit this
        os.environ["MFCREDIT_SHIPPED"] = "0"
        print(f"[pipeline] --retrain: deleted {cache.clear()} cached runs; every run trains from scratch, "
              "the shipped runs are rewritten", flush=True)
    # a build from scratch, whose times are worth recording: retraining, or quick mode on an empty cache
    # (at paper scale an empty cache still has the shipped runs)
    scratch = bool(args.retrain) or (bool(args.quick) and not cache.entries())
    for junk in remove_stale_temporaries(args.notebooks):
        print(f"[pipeline] removed {junk}, left by an interrupted run", flush=True)
    times = {}
    if args.retrain and not args.quick:  # the runs several notebooks share, all cores busy from the start
        times[PREFETCH] = prefetch_shipped()
        record_timings(False, times)
    for nb in order(args.notebooks):
        print(f"[pipeline] {nb} (quick={bool(args.quick)}) ...", flush=True)
        before = len(cache.entries())
        dt = run_notebook(nb.resolve(), bool(args.quick), args.timeout)
        if not nb.name.startswith("00"):  # the index, run last, shows the others' times
            times[nb.stem] = {"seconds": round(dt, 1), "runs_trained": len(cache.entries()) - before}
            if scratch:
                record_timings(bool(args.quick), times)
        # each notebook's kernel has exited: when the running maximum grows, this notebook set it
        print(f"[pipeline] {nb}: {dt:.1f} s; largest kernel so far: {peak_mib():.0f} MiB", flush=True)
    if args.retrain and not args.quick:
        ship_runs()
    update_readme(bool(args.quick))
    print(f"[pipeline] all notebooks: {time.perf_counter() - total:.1f} s; "
          f"peak memory of the largest kernel: {peak_mib():.0f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
