"""Run the numbered notebooks in order with papermill: ``python -m mfcredit.pipeline [--quick 1] NB...``.

Paper scale (``--quick 0``) executes every notebook IN PLACE, so the committed notebooks show the
full-scale outputs, with papermill's per-cell timing metadata stripped (no churn in git); quick mode
writes the executed copies to build/quick/. Each executed notebook is written to a temporary file
and renamed, so an interrupted run leaves the previous notebook intact; training runs are cached
(mfcredit.cache) and resume where they stopped. After the last notebook the README's claims table is
refreshed from results/claims.md.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import nbformat
import papermill as pm

from .nb import REPO, ROOT
from .utils import remove_leftovers, replace_marked_block

TIMING_KEYS = ("start_time", "end_time", "duration", "exception", "status")


def strip_metadata(nb) -> None:
    """Remove per-run papermill/execution metadata so reruns do not rewrite unchanged notebooks."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # papermill gives it a random id on every run
        cell.metadata.pop("execution", None)
        pmeta = cell.metadata.get("papermill")
        if pmeta is not None:
            for k in TIMING_KEYS:
                pmeta.pop(k, None)
            if not pmeta:
                cell.metadata.pop("papermill")


def run_notebook(path: Path, quick: bool, timeout: int) -> float:
    out = ROOT / "build" / "quick" / path.name if quick else path
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    t = time.perf_counter()
    try:
        pm.execute_notebook(str(path), str(tmp), parameters={"quick": quick}, kernel_name="python3",
                            cwd=str(path.parent), execution_timeout=timeout, progress_bar=False)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    nb = nbformat.read(tmp, as_version=4)
    strip_metadata(nb)
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    return time.perf_counter() - t


def remove_stale_temporaries(notebooks) -> list[Path]:
    """Delete the temporary files a killed run left in the folders this pipeline writes (figures,
    results, executed notebooks). Their targets were never replaced, so nothing else is affected."""
    folders = {ROOT / k / q for k in ("figures", "results") for q in ("", "quick")}
    folders |= {ROOT / "build" / "quick"} | {Path(nb).resolve().parent for nb in notebooks}
    return [junk for d in sorted(folders) for pattern in (".*.tmp", ".*.tmp.ipynb") for junk in remove_leftovers(d, pattern)]


def update_readme(quick: bool) -> None:
    """Copy results/claims.md into the README's claims block (paper scale only)."""
    claims = ROOT / "results" / "claims.md"
    if not quick and claims.is_file():
        replace_marked_block(REPO / "README.md", "claims", claims.read_text())


def peak_mib() -> float:
    """Largest peak resident memory of any finished child process (the notebook kernels), MiB.
    ru_maxrss is in KiB on Linux."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", type=int, default=0, choices=(0, 1))
    p.add_argument("--timeout", type=int, default=3600, help="seconds allowed for one cell")
    p.add_argument("notebooks", nargs="+", type=Path)
    args = p.parse_args(argv)
    os.environ.setdefault("MFCREDIT_PROGRESS", "0")  # kernels inherit it: no progress bars in the outputs
    total = time.perf_counter()
    for junk in remove_stale_temporaries(args.notebooks):
        print(f"[pipeline] removed {junk}, left by an interrupted run", flush=True)
    for nb in args.notebooks:
        print(f"[pipeline] {nb} (quick={bool(args.quick)}) ...", flush=True)
        dt = run_notebook(nb.resolve(), bool(args.quick), args.timeout)
        # each notebook's kernel has exited: when the running maximum grows, this notebook set it
        print(f"[pipeline] {nb}: {dt:.1f} s; largest kernel so far: {peak_mib():.0f} MiB", flush=True)
    update_readme(bool(args.quick))
    print(f"[pipeline] all notebooks: {time.perf_counter() - total:.1f} s; "
          f"peak memory of the largest kernel: {peak_mib():.0f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
