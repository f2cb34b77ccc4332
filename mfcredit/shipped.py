"""The trained runs the repository ships in data/runs/, so that notebooks 2 to 4 re-execute at paper
scale without training (on Binder, say).

    run = mf.shipped.load(mf.TrainConfig(), seed=0)   # None if that run is not shipped

Which runs: :func:`jobs`, the paper recipe's five seeds for gBP and for standard BP, and the 2022
variant's five seeds as notebook 3 trains them. Each is one compressed ``<model>-<key>.npz`` (the
key of its cache entry, :func:`mfcredit.cache.run_key`, at the sweep's one thread per run) holding
the parameters (and pi_max, the early-stopped parameters) as float32 arrays and, as JSON, the config, seed, per-epoch metrics and the platform
it was trained on; ``SHA256SUMS`` lists every file's checksum. A file that is not listed or does not
match its checksum is refused with :class:`mfcredit.runs.RunFileError` naming it.

The training cache (:mod:`mfcredit.cache`) serves these runs when it has no entry of its own, unless
$MFCREDIT_SHIPPED is 0, as in ``make figures RETRAIN=1``, which then rewrites the files from the
runs it trained (:func:`write`). The archives are written byte for byte the same for the same
numbers (fixed zip dates, no wall-clock times inside).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import zipfile
from pathlib import Path

import numpy as np
import torch

from .config import TrainConfig, recipe_2022
from .runs import Run, RunFileError, extras, with_extras
from .utils import REPO, atomic_write_bytes

#: Where the shipped runs live.
FOLDER = REPO / "data" / "runs"
#: The thread count of the shipped runs (that of :func:`mfcredit.sweep`'s workers).
THREADS = 1
N_SEEDS = 5
#: Fields of ``Run.info`` that differ between otherwise identical runs: not shipped.
VOLATILE = ("wall_s", "epoch_s", "resumed_from_epoch")


def jobs() -> list[tuple[TrainConfig, int]]:
    """(config, seed) of every shipped run: the paper recipe (gBP and standard BP) of notebooks 2
    and 4, the 2022 variant of notebook 3 (tested at the end only, as there), and the four short
    runs of notebook 2's exercises 2 and 3 (seed 0), so that notebook 2 reruns at paper scale
    without training anything."""
    paper = TrainConfig()
    variant = recipe_2022(eval_every=recipe_2022().epochs)
    small = TrainConfig(epochs=20, n_train=2000)
    exercises = [(recipe_2022(epochs=10), 0), (paper.replace(epochs=10), 0), (small, 0), (small.bp_baseline(), 0)]
    return [(cfg, s) for cfg in (paper, paper.bp_baseline(), variant) for s in range(N_SEEDS)] + exercises


def enabled() -> bool:
    """False when $MFCREDIT_SHIPPED is 0 (retraining from scratch), else True."""
    return os.environ.get("MFCREDIT_SHIPPED", "1").strip() not in ("0", "false", "False", "no")


def platform_id() -> str:
    """What decides a run's last bits besides its config, seed and thread count: the CPU, its
    instruction set as torch uses it, and the torch version."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu} | {torch.backends.cpu.get_cpu_capability()} | torch {torch.__version__}"


def name(config: TrainConfig, seed: int) -> str:
    """File name of a run: its cache entry's name, at :data:`THREADS` threads."""
    from .cache import run_key  # the cache imports this module

    return f"{config.model}-{run_key(config, seed, THREADS)}.npz"


def checksums(folder: Path | None = None) -> dict[str, str]:
    """{file name: SHA-256} from ``folder/SHA256SUMS`` (default :data:`FOLDER`; empty if there is none)."""
    path = Path(folder or FOLDER) / "SHA256SUMS"
    if not path.is_file():
        return {}
    pairs = (line.split() for line in path.read_text().splitlines() if line.strip())
    return {fname: digest for digest, fname in pairs}


def load(config: TrainConfig, seed: int, folder: Path | None = None) -> Run | None:
    """The shipped run of (config, seed) in ``folder`` (default :data:`FOLDER`, read when called),
    verified by checksum; None if it is not shipped."""
    folder = Path(folder or FOLDER)
    path = folder / name(config, seed)
    if not path.is_file():
        return None
    blob = path.read_bytes()
    expected = checksums(folder).get(path.name)
    if expected is None:
        raise RunFileError(f"{path}: not listed in {folder / 'SHA256SUMS'}; restore both with git checkout")
    if hashlib.sha256(blob).hexdigest() != expected:
        raise RunFileError(f"{path}: SHA-256 does not match SHA256SUMS: the file is damaged; "
                           "restore it with git checkout, or retrain (make figures RETRAIN=1)")
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        meta = json.loads(bytes(z["meta.json"]).decode())

        def layers(k):
            return [torch.from_numpy(z[f"{k}{l}"].copy()) for l in range(len(config.widths) - 1)]
        params = {k: layers(k) for k in (("w",) if config.model == "bp" else ("pi", "m", "xi"))}
        extra = {k: layers(k) for k in meta.get("extras", [])}
    if TrainConfig.from_dict(meta["config"]) != config or meta["seed"] != int(seed):
        raise RunFileError(f"{path}: holds another run (seed {meta['seed']}) than its name says")
    return with_extras(Run(config, int(seed), meta["metrics"], params, meta["info"]), extra)


def to_bytes(run: Run) -> bytes:
    """The .npz archive of ``run``: the same bytes for the same numbers."""
    extra = extras(run)
    meta = {"config": run.config.to_dict(), "seed": int(run.seed), "metrics": run.metrics, "extras": sorted(extra),
            "info": {**{k: v for k, v in run.info.items() if k not in VOLATILE}, "platform": platform_id()}}
    arrays = {"meta.json": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)}
    arrays |= {f"{k}{l}": t.detach().cpu().numpy() for k, ts in (run.params | extra).items() for l, t in enumerate(ts)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def write(runs: list[Run], folder: Path | None = None) -> list[Path]:
    """Write ``runs`` as the shipped runs (replacing files of the same name) and their checksums.
    Files of runs :func:`jobs` no longer names (another recipe, or keys of an earlier cache
    version) are deleted and unlisted. ``folder``: default :data:`FOLDER`, read when called."""
    folder = Path(folder or FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    current = {name(config, seed) for config, seed in jobs()}
    for stale in folder.glob("*.npz"):
        if stale.name not in current:
            stale.unlink()
    sums = {k: v for k, v in checksums(folder).items() if k in current}
    paths = []
    for run in runs:
        blob = to_bytes(run)
        path = folder / name(run.config, run.seed)
        atomic_write_bytes(path, blob)
        sums[path.name] = hashlib.sha256(blob).hexdigest()
        paths.append(path)
    atomic_write_bytes(folder / "SHA256SUMS", "".join(f"{sums[k]}  {k}\n" for k in sorted(sums)).encode())
    return paths
