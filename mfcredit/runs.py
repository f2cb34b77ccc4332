"""A training run's record (:class:`Run`), saving and loading it, and the checkpoint of a run in progress.

    mf.runs.save_run(run, "runs/seed0")      # config.json, metrics.json, params.pt, extra.pt
    run = mf.runs.load_run("runs/seed0")

Every file is written atomically (a killed writer leaves the old version or none, never half of
one) and read with ``weights_only=True``, so a shared file cannot execute code.
"""
from __future__ import annotations

import io
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .config import TrainConfig
from .model import build
from .utils import atomic_write_bytes, default_mode

#: Version of the saved files; 2: one network per checkpoint, the plain network's weights under 'w';
#: 3: an ensemble's largest pi per connection (pi_max), the early-stopped parameters (best).
FORMAT_VERSION = 3


class RunFileError(RuntimeError):
    """A saved run or checkpoint is missing, damaged or does not match its config."""


class DamagedRunError(RunFileError):
    """A saved run's files are missing, truncated or unreadable (say, cut short by a full disk), as
    opposed to readable files of another run. The cache recomputes such an entry."""


@dataclass
class Run:
    """A finished training run: its recipe, seed, per-epoch metrics and final parameters.

    ``params`` maps 'pi', 'm', 'xi' (a 'gbp' run) or 'w' (a 'bp' run) to one (N_l, N_{l-1}) tensor
    per layer. ``metrics`` maps each of :data:`mfcredit.training.METRIC_KEYS` to one value per epoch;
    test errors are in percent. ``pi_max`` (an ensemble): the largest pi each connection reached
    after any step, one tensor per layer. ``best`` (a run with ``config.n_val``): the parameters, as
    ``params``, of the epoch of lowest validation error, ``info['best_epoch']`` (early stopping).
    """

    config: TrainConfig
    seed: int
    metrics: dict
    params: dict
    info: dict = field(default_factory=dict)
    pi_max: list | None = None
    best: dict | None = None

    def network(self, device="cpu"):
        """Rebuild the trained network (MFNet or PlainNet) from ``params``."""
        net = build(self.config.model, self.config.widths, dtype=getattr(torch, self.config.dtype), device=device)
        return net.load_(self.params)

    def best_network(self, device="cpu"):
        """The early-stopped network: the parameters of the epoch of lowest validation error."""
        if self.best is None:
            raise ValueError("this run kept no early-stopped parameters: train it with config.n_val > 0")
        net = build(self.config.model, self.config.widths, dtype=getattr(torch, self.config.dtype), device=device)
        return net.load_(self.best)

    def final(self, metric: str | None = None) -> float:
        """Last recorded test error (%) for ``metric`` (default: the recipe's test_metric)."""
        return self.metrics[f"test_error_{metric or self.config.test_metric}"][-1]


def save_run(run: Run, folder: str | Path) -> Path:
    """Save config.json, metrics.json and params.pt into ``folder``, atomically: everything is
    written to a temporary sibling folder which is then renamed into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tmp.chmod(default_mode(directory=True))  # mkdtemp's 0o700 would hide the entry from other users
        (tmp / "config.json").write_text(json.dumps(run.config.to_dict(), indent=1, sort_keys=True))
        (tmp / "metrics.json").write_text(json.dumps({"seed": run.seed, "info": run.info, "metrics": run.metrics},
                                                     indent=1, sort_keys=True))
        for fname, tensors in (("params.pt", run.params), ("extra.pt", extras(run))):
            buf = io.BytesIO()
            torch.save({k: [t.contiguous() for t in v] for k, v in tensors.items()}, buf)
            (tmp / fname).write_bytes(buf.getvalue())
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def extras(run: Run) -> dict:
    """What a run holds besides its parameters, flat: {'pi_max': [...]} and {'best_<key>': [...]} where present."""
    out = {} if run.pi_max is None else {"pi_max": list(run.pi_max)}
    return out | {f"best_{k}": list(v) for k, v in (run.best or {}).items()}


def with_extras(run: Run, flat: dict) -> Run:
    """``run`` with the tensors of :func:`extras` put back (pi_max, best)."""
    run.pi_max = flat.get("pi_max")
    best = {k[len("best_"):]: v for k, v in flat.items() if k.startswith("best_")}
    run.best = best or None
    return run


def _read(folder: Path):
    """(config, metrics.json content, params, extras) of a saved run, or DamagedRunError saying what is wrong."""
    try:
        cfg = TrainConfig.from_dict(json.loads((folder / "config.json").read_text()))
        meta = json.loads((folder / "metrics.json").read_text())
        params = _load_tensors(folder / "params.pt")
        extra = _load_tensors(folder / "extra.pt") if (folder / "extra.pt").exists() else {}  # none before format 3
    except FileNotFoundError as e:
        raise DamagedRunError(f"{folder}: incomplete saved run, missing {Path(e.filename).name}") from None
    except (ValueError, TypeError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DamagedRunError(f"{folder}: damaged saved run ({e})") from None
    if not isinstance(meta, dict) or not {"seed", "metrics"} <= set(meta):
        raise DamagedRunError(f"{folder}/metrics.json: damaged saved run (no seed or metrics in it)")
    if cfg.model == "bp" and isinstance(params, dict) and set(params) == {"m"}:
        params = {"w": params["m"]}  # saved before format 2, which kept the plain weights under 'm'
    return cfg, meta, params, extra


def _load_tensors(path: Path):
    """A file of plain tensors (torch's restricted unpickler: nothing else is built, no code runs)."""
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except (FileNotFoundError, ValueError, TypeError):
        raise
    except Exception as e:  # a truncated zip; torch's unpickler refuses anything that is not plain tensors
        first = str(e).splitlines()[0] if str(e) else ""
        raise DamagedRunError(f"{path}: refused to load ({type(e).__name__}: {first})") from None


def load_run(folder: str | Path, expect_config: TrainConfig | None = None) -> Run:
    """Load a run saved by :func:`save_run`; shapes are checked against the saved (or expected) config."""
    folder = Path(folder)
    cfg, meta, params, extra = _read(folder)
    if expect_config is not None and cfg != expect_config:
        raise RunFileError(f"{folder}: saved with a different config than the one expected")
    keys = ("w",) if cfg.model == "bp" else ("pi", "m", "xi")
    shapes = [(b, a) for a, b in zip(cfg.widths[:-1], cfg.widths[1:])]
    if not isinstance(params, dict) or set(params) != set(keys):
        found = sorted(params) if isinstance(params, dict) else type(params)
        raise RunFileError(f"{folder}/params.pt: expected tensors {keys}, found {found}")
    for k in keys:
        got = [tuple(t.shape) for t in params[k]]
        if got != shapes:
            raise RunFileError(f"{folder}/params.pt: {k} has layer shapes {got}, config widths need {shapes}")
    if not isinstance(extra, dict) or any(len(v) != len(shapes) for v in extra.values()):
        raise RunFileError(f"{folder}/extra.pt: expected one tensor per layer under each key")
    return with_extras(Run(cfg, meta["seed"], meta["metrics"], params, meta.get("info", {})), extra)


# ---------------------------------------------------------------- checkpoints of a run in progress

def save_checkpoint(path: Path, cfg: TrainConfig, seed: int, epochs_done: int, wall: float, net, opt,
                    generators, metrics: dict, trace: dict) -> None:
    """Write the whole state of a run after ``epochs_done`` epochs atomically to ``path``: parameters,
    Adam (None when it is re-created every epoch), every generator's state, the metrics so far and
    the ``trace`` (pi_max, the early-stopped parameters and their epoch and error)."""
    buf = io.BytesIO()
    torch.save({"format": FORMAT_VERSION, "config": cfg.to_dict(), "seed": int(seed), "epochs_done": epochs_done,
                "wall_s": wall, "params": [p.detach().cpu() for p in net.parameters()],
                "adam": None if opt is None else opt.state_dict(),
                "generators": [g.get_state() for g in generators], "metrics": metrics,
                "trace": {k: [t.cpu() for t in v] if k == "pi_max" and v is not None else v for k, v in trace.items()}}, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, cfg: TrainConfig, seed: int, net, generators, metrics: dict, trace: dict):
    """Restore a checkpoint into (net, generators, metrics, trace); return (epochs done, wall time, Adam state)."""
    try:
        ck = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:
        raise RunFileError(f"{path}: unreadable checkpoint ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                           "delete it to start this run over") from None
    if not isinstance(ck, dict) or ck.get("format") != FORMAT_VERSION:
        raise RunFileError(f"{path}: not a checkpoint of this version of mfcredit; delete it to start over")
    if ck.get("config") != cfg.to_dict() or ck.get("seed") != int(seed):
        raise RunFileError(f"{path}: checkpoint of another config or seed (saved for seed {ck.get('seed')}); "
                           "delete it to start over")
    params = list(net.parameters())
    if len(ck["params"]) != len(params) or any(a.shape != b.shape for a, b in zip(ck["params"], params)):
        raise RunFileError(f"{path}: checkpoint tensors do not match the network's shapes; delete it to start over")
    with torch.no_grad():
        for p, saved in zip(params, ck["params"]):
            p.copy_(saved)
    for g, state in zip(generators, ck["generators"]):
        g.set_state(state)
    metrics.update(ck["metrics"])
    saved = ck["trace"]
    if saved["pi_max"] is not None:
        for top, t in zip(trace["pi_max"], saved["pi_max"]):
            top.copy_(t)
    trace.update({k: v for k, v in saved.items() if k != "pi_max"})
    return int(ck["epochs_done"]), float(ck["wall_s"]), ck["adam"]
