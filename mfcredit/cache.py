"""Compute-once cache of training runs, keyed by everything that determines the result.

    run = mf.cached_train(mf.TrainConfig(), seed=0)   # trains the first time, loads afterwards

The key hashes the full config, the seed and :data:`CACHE_VERSION` (bumped whenever a code change
alters training results). Entries are written atomically by :func:`mfcredit.runs.save_run`, so an
interrupted run leaves no entry. While a run trains, its state is checkpointed next to the entry
(``<entry>.ckpt``, every ``checkpoint_every`` seconds): a killed run resumes from there and ends with
the same numbers as an uninterrupted one. The cache lives in $MFCREDIT_CACHE, or ``cache/`` at the
repository root (git-ignored).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .config import TrainConfig
from .runs import Run, RunFileError, load_run, save_run
from .training import train
from .utils import REPO, remove_leftovers

#: Bump when a change to the package changes what training produces.
CACHE_VERSION = 2  # 2: closed-form backward (MeanFieldLinear), fused Adam


def default_cache_dir() -> Path:
    """$MFCREDIT_CACHE if set, else cache/ at the repository root."""
    env = os.environ.get("MFCREDIT_CACHE")
    return Path(env) if env else REPO / "cache"


def run_key(config: TrainConfig, seed: int) -> str:
    """A short hash of (config, seed, cache version): the cache entry's name."""
    blob = json.dumps({"config": config.to_dict(), "seed": int(seed), "version": CACHE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cached_train(config: TrainConfig, seed: int = 0, cache_dir: str | Path | None = None,
                 checkpoint_every: float = 30.0, **train_kwargs) -> Run:
    """Load the run of (config, seed) from the cache, or train it (resuming from its checkpoint if a
    previous attempt was killed) and store it. ``train_kwargs`` go to :func:`mfcredit.train`
    (data, progress, threads, device, on_epoch_end).

    An entry saved under another config (a hash collision or a hand-copied folder) or damaged is
    never reused: it raises :class:`RunFileError` (damaged entries can be deleted and recomputed).
    """
    folder = Path(cache_dir or default_cache_dir()) / f"{config.model}-{run_key(config, seed)}"
    if folder.exists():
        run = load_run(folder, expect_config=config)
        if run.seed != int(seed) or run.info.get("cache_version") != CACHE_VERSION:
            raise RunFileError(f"{folder}: cache entry is for seed {run.seed}, cache version "
                               f"{run.info.get('cache_version')}; expected seed {seed}, version {CACHE_VERSION}. "
                               "Delete the folder to recompute it.")
        return run
    checkpoint = folder.with_name(folder.name + ".ckpt")
    for target in (folder, checkpoint):  # what a killed earlier attempt may have left half-written
        remove_leftovers(folder.parent, f".{target.name}.*")
    run = train(config, seed=seed, checkpoint=checkpoint, checkpoint_every=checkpoint_every, **train_kwargs)
    run.info["cache_version"] = CACHE_VERSION
    save_run(run, folder)
    checkpoint.unlink(missing_ok=True)  # only now: a kill before this line resumes from it
    return run
