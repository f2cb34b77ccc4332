"""Compute-once cache of training runs, keyed by everything that determines the result.

    run = mf.cached_train(mf.TrainConfig(), seed=0)   # trains the first time, loads afterwards

The key hashes the full config, the seed, the thread count the run trains with (the float sums,
hence the last bits, depend on it) and :data:`CACHE_VERSION` (bumped whenever a code change alters
training results). Entries are written atomically by :func:`mfcredit.runs.save_run`, so an
interrupted run leaves no entry. While a run trains, its state is checkpointed next to the entry
(``<entry>.ckpt``, every ``checkpoint_every`` seconds): a killed run resumes from there and ends with
the same numbers as an uninterrupted one. An entry whose files are damaged (truncated by a full
disk, say) is reported by name, removed and recomputed. The cache lives in $MFCREDIT_CACHE, or
``cache/`` at the repository root (git-ignored).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

from . import shipped
from .config import TrainConfig
from .runs import DamagedRunError, Run, RunFileError, load_run, save_run
from .training import train
from .utils import REPO, default_threads, remove_leftovers

#: Bump when a change to the package changes what training produces (or how entries are keyed).
CACHE_VERSION = 5  # 2: closed-form backward (MeanFieldLinear), fused Adam; 3: thread count in the key;
#                    4: denormals flushed to zero while training; 5: pi_max, the optimiser's lr and state,
#                    validation and early stopping recorded


def default_cache_dir() -> Path:
    """$MFCREDIT_CACHE if set, else cache/ at the repository root."""
    env = os.environ.get("MFCREDIT_CACHE")
    return Path(env) if env else REPO / "cache"


def run_key(config: TrainConfig, seed: int, threads: int) -> str:
    """A short hash of (config, seed, thread count, cache version): the cache entry's name."""
    blob = json.dumps({"config": config.to_dict(), "seed": int(seed), "threads": int(threads),
                       "version": CACHE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def entry_path(config: TrainConfig, seed: int, threads: int, cache_dir: str | Path | None = None) -> Path:
    """The folder of the cache entry of (config, seed, threads): ``<cache>/<model>-<key>``."""
    return Path(cache_dir or default_cache_dir()) / f"{config.model}-{run_key(config, seed, threads)}"


def entries(cache_dir: str | Path | None = None) -> list[Path]:
    """The finished runs in the cache: the ``<model>-<key>`` folders (not checkpoints, half-written
    temporaries or sub-folders such as the tests' cache/quick)."""
    d = Path(cache_dir or default_cache_dir())
    return sorted(p for pattern in ("gbp-*", "bp-*") for p in d.glob(pattern) if p.is_dir())


def clear(cache_dir: str | Path | None = None) -> int:
    """Delete every run of the cache with its checkpoint and half-written temporaries (sub-folders
    such as cache/quick stay). Returns how many finished runs were deleted."""
    d = Path(cache_dir or default_cache_dir())
    runs = entries(d)
    for p in [p for pattern in ("gbp-*", "bp-*", ".gbp-*", ".bp-*") for p in d.glob(pattern)]:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return len(runs)


def load_cached(config: TrainConfig, seed: int, threads: int, cache_dir: str | Path | None = None) -> Run | None:
    """The cached run of (config, seed, threads), or else the shipped one (:mod:`mfcredit.shipped`,
    unless $MFCREDIT_SHIPPED=0), or None if there is none yet.

    A damaged entry (unreadable or truncated files) is reported with a warning naming its folder,
    removed, and counts as none. An entry saved under another config, seed, thread count or cache
    version (a hash collision or a hand-copied folder) raises :class:`RunFileError`.
    """
    folder = entry_path(config, seed, threads, cache_dir)
    if not folder.exists():  # a run the repository ships (data/runs) needs no training
        return shipped.load(config, seed) if threads == shipped.THREADS and shipped.enabled() else None
    try:
        run = load_run(folder, expect_config=config)
    except DamagedRunError as e:
        warnings.warn(f"damaged cache entry {folder}: {e}; recomputing", RuntimeWarning, stacklevel=2)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    found = (run.seed, run.info.get("threads"), run.info.get("cache_version"))
    if found != (int(seed), int(threads), CACHE_VERSION):
        raise RunFileError(f"{folder}: cache entry is for (seed, threads, cache version) {found}; expected "
                           f"{(int(seed), int(threads), CACHE_VERSION)}. Delete the folder to recompute it.")
    return run


def cached_train(config: TrainConfig, seed: int = 0, cache_dir: str | Path | None = None,
                 checkpoint_every: float = 30.0, threads: int | None = None, **train_kwargs) -> Run:
    """Load the run of (config, seed, threads) from the cache, or train it (resuming from its
    checkpoint if a previous attempt was killed) and store it. ``threads`` defaults to
    :func:`mfcredit.utils.default_threads`; ``train_kwargs`` go to :func:`mfcredit.train` (data,
    progress, device, on_epoch_end). Damaged entries are recomputed (:func:`load_cached`).
    """
    threads = default_threads() if threads is None else int(threads)
    run = load_cached(config, seed, threads, cache_dir)
    if run is not None:
        return run
    folder = entry_path(config, seed, threads, cache_dir)
    checkpoint = folder.with_name(folder.name + ".ckpt")
    for target in (folder, checkpoint):  # what a killed earlier attempt may have left half-written
        remove_leftovers(folder.parent, f".{target.name}.*")
    run = train(config, seed=seed, checkpoint=checkpoint, checkpoint_every=checkpoint_every, threads=threads,
                **train_kwargs)
    run.info["cache_version"] = CACHE_VERSION
    save_run(run, folder)
    checkpoint.unlink(missing_ok=True)  # only now: a kill before this line resumes from it
    return run
