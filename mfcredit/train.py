"""The training loop: one recipe (a :class:`TrainConfig`), one seed, one :class:`Run`.

    run = mf.train(mf.TrainConfig(epochs=20), seed=0)
    run.metrics["test_error_sampled"][-1]      # % error of a freshly sampled sub-network
    net = run.network()                        # the trained MFNet

The loop (paper.md §3): per epoch, reshuffle; Adam (re-created every epoch if the recipe says so)
with decoupled weight decay; after every step, project pi into [0, 1] and xi onto >= 0. The loss is
the batch-mean cross-entropy of the noisy mean-field pass; its gradient is gBP (paper.md §2),
computed by the closed-form backward of :class:`mfcredit.layers.MeanFieldLinear` and checked
against autograd in tests/test_gbp.py. :func:`train_many` trains several seeds at once along a
replica axis; :func:`train` is its one-seed case. Both can checkpoint and resume.
"""
from __future__ import annotations

import io
import json
import os
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import BatchSampler, RandomSampler
from tqdm import tqdm

from .config import TrainConfig
from .data import Data, load_dataset
from .model import MFNet, PlainNet, build
from .utils import atomic_write_bytes, default_mode, generator, num_threads

FORMAT_VERSION = 1
METRIC_KEYS = ("epoch", "lr", "train_loss", "test_error_sampled", "test_error_mf_noisy", "test_error_mf_mean")


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss or parameter."""


@dataclass
class Run:
    """A finished training run: its recipe, seed, per-epoch metrics and final parameters.

    ``params`` maps 'pi', 'm', 'xi' to one (N_l, N_{l-1}) tensor per layer ('m' alone, holding the
    weights W, for a 'bp' run). Test errors are in percent.
    """

    config: TrainConfig
    seed: int
    metrics: dict
    params: dict
    info: dict = field(default_factory=dict)

    def network(self, device="cpu"):
        """Rebuild the trained network (MFNet or PlainNet) from ``params``."""
        net = build(self.config.model, self.config.widths, dtype=getattr(torch, self.config.dtype), device=device)
        with torch.no_grad():
            for key, tensors in self.params.items():
                for layer, t in zip(net.layers, tensors):
                    getattr(layer, "weight" if isinstance(net, PlainNet) else key).copy_(t)
        return net

    def final(self, metric: str | None = None) -> float:
        """Last recorded test error (%) for ``metric`` (default: the recipe's test_metric)."""
        return self.metrics[f"test_error_{metric or self.config.test_metric}"][-1]


def error_rate(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Classification error in percent."""
    return 100.0 * (logits.argmax(dim=-1) != y).double().mean().item()


@torch.no_grad()
def evaluate(net, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> dict:
    """Test error (%) three ways: one freshly sampled sub-network, the noisy mean-field pass, eps = 0.

    For a plain network the three coincide (there is no distribution). For a network with replicas,
    ``generator`` is a list and each value is a list of R errors.
    """
    if isinstance(net, PlainNet):
        e = _errors(net(x), y)
        return {"sampled": e, "mf_noisy": e, "mf_mean": e}
    return {
        "sampled": _errors(net.sampled_forward(x, generator), y),
        "mf_noisy": _errors(net(x, noise=True, generator=generator), y),
        "mf_mean": _errors(net(x, noise=False), y),
    }


def _errors(logits: torch.Tensor, y: torch.Tensor):
    return error_rate(logits, y) if logits.dim() == 2 else [error_rate(z, y) for z in logits]


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``: halved every ``lr_halve_every`` epochs (0 = constant)."""
    return cfg.lr * (0.5 ** (epoch // cfg.lr_halve_every) if cfg.lr_halve_every else 1.0)


def _adam(net, cfg: TrainConfig, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam over every parameter tensor (one per layer). The decoupled decay of AdamW is applied
    by :meth:`decay_` just before each step, which is the order AdamW uses; the fused kernel is
    one pass over all tensors (CPU and CUDA)."""
    return torch.optim.Adam(net.parameters(), lr=lr, betas=cfg.adam_betas, eps=cfg.adam_eps,
                            fused=device.type in ("cpu", "cuda"))


def train_step(net, opt, xb: torch.Tensor, yb: torch.Tensor, generators: list, cfg: TrainConfig, lr: float) -> torch.Tensor:
    """One step on a batch for every replica: noisy mean-field pass, cross-entropy, gBP, decoupled
    decay, Adam, projection. xb: (R, B, N_0), yb: (R, B). Returns the R batch losses (detached)."""
    logits = net(xb, noise=True, generator=generators)  # (R, B, classes)
    losses = F.cross_entropy(logits.flatten(0, 1), yb.flatten(), reduction="none").view(yb.shape).mean(1)
    opt.zero_grad(set_to_none=True)
    losses.sum().backward()  # replicas do not interact: each gets the gradient of its own loss
    if cfg.weight_decay:
        net.decay_(1.0 - lr * cfg.weight_decay, cfg.decay_pi)
    opt.step()
    net.project_()
    return losses.detach()


def train(config: TrainConfig | None = None, seed: int = 0, data: Data | None = None, progress: bool | None = None,
          threads: int | None = None, device: str | torch.device = "cpu",
          on_epoch_end: Callable[[int, dict, object], None] | None = None,
          checkpoint: str | Path | None = None, checkpoint_every: float = 30.0) -> Run:
    """Train one network with ``config`` from ``seed``; return a :class:`Run`.

    Args:
        data: a :class:`Data`; default loads ``config.dataset`` with its first ``config.n_train`` images.
        threads: torch threads for this call (default $MFCREDIT_THREADS, else the fastest measured here).
        device: 'cpu' or 'cuda' (parameters, data and noise generators all live there).
        progress: a tqdm bar per run (default: yes, unless $MFCREDIT_PROGRESS is 0).
        on_epoch_end: called as ``f(epoch, metrics_row, net)`` after each epoch.
        checkpoint, checkpoint_every: resume an interrupted run; see :func:`train_many`.
    Raises:
        DivergenceError: naming the epoch and batch where the loss became NaN or infinite.
    """
    cb = None if on_epoch_end is None else (lambda epoch, rows, net: on_epoch_end(epoch, rows[0], net.replica(0)))
    return train_many(config, [seed], data=data, progress=progress, threads=threads, device=device,
                      on_epoch_end=cb, checkpoint=checkpoint, checkpoint_every=checkpoint_every)[0]


def train_many(config: TrainConfig | None = None, seeds: Sequence[int] = (0, 1, 2, 3, 4), data: Data | None = None,
               progress: bool | None = None, threads: int | None = None, device: str | torch.device = "cpu",
               on_epoch_end: Callable[[int, list, object], None] | None = None,
               checkpoint: str | Path | None = None, checkpoint_every: float = 30.0) -> list[Run]:
    """Train one network per seed, all R = len(seeds) of them in the same batched tensor operations.

    ``checkpoint``: a file. At the end of an epoch, at most every ``checkpoint_every`` seconds (0:
    every epoch) and after the last one, the whole state (parameters, Adam, every generator,
    metrics) is written there atomically; if the file exists when training starts, training resumes
    from it and gives the same numbers as an uninterrupted run. The file is left in place (resuming
    a finished checkpoint returns at once); :func:`mfcredit.cached_train` deletes it once the run is
    saved.

    Replica r is initialised, shuffled, noised and evaluated from its own generators, seeded from
    seeds[r] exactly as a single run is, and Adam is elementwise: replica r follows the same recipe
    as ``train(config, seeds[r])``. The only difference is the summation order inside the batched
    matrix products; tests/test_train.py measures how far apart the two are (see the README).
    ``on_epoch_end`` is called as ``f(epoch, rows, net)`` with one metrics row per replica.
    """
    cfg = config or TrainConfig()
    if progress is None:  # batch runs (make figures) set MFCREDIT_PROGRESS=0: no bars in the notebooks
        progress = os.environ.get("MFCREDIT_PROGRESS", "1") != "0"
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct integers, got {seeds}")
    device = torch.device(device)
    dtype = getattr(torch, cfg.dtype)
    if data is None:
        data = load_dataset(cfg.dataset, n_train=cfg.n_train, dtype=dtype)
    x_train, y_train = data.x_train[: cfg.n_train].to(device, dtype), data.y_train[: cfg.n_train].to(device)
    x_test, y_test = data.x_test.to(device, dtype), data.y_test.to(device)
    if x_train.shape[1] != cfg.widths[0]:
        raise ValueError(f"input size {x_train.shape[1]} does not match widths[0] = {cfg.widths[0]}")
    if len(x_train) < cfg.n_train:
        raise ValueError(f"config asks for n_train={cfg.n_train} but the data has {len(x_train)} training examples")

    R = len(seeds)
    with num_threads(threads) as n_threads:
        gens = [generator(s, device) for s in seeds]  # init and training noise
        g_evals = [generator(s + 7_777_777, device) for s in seeds]  # evaluation draws: independent of eval_every
        g_shuffles = [torch.Generator().manual_seed(s + 1) for s in seeds]  # shuffling runs on the CPU
        samplers = [BatchSampler(RandomSampler(range(len(x_train)), generator=g), cfg.batch_size, drop_last=False)
                    for g in g_shuffles]
        net = build(cfg.model, cfg.widths, dtype=dtype, device=device, replicas=R)
        net.init_(cfg.init_m_std, cfg.init_xi, cfg.init_pi, generator=gens)
        metrics = [{k: [] for k in METRIC_KEYS} for _ in seeds]
        opt = None
        start, wall_before = 0, 0.0
        state = dict(cfg=cfg, seeds=seeds, net=net, generators=(gens, g_evals, g_shuffles), metrics=metrics)
        if checkpoint is not None and Path(checkpoint).exists():
            start, wall_before, opt_state = _load_checkpoint(Path(checkpoint), **state)
            if opt_state is not None:
                opt = _adam(net, cfg, lr_at(cfg, start), device)
                opt.load_state_dict(opt_state)
        t0 = time.perf_counter()
        last_save = t0
        name = f"seed {seeds[0]}" if R == 1 else f"{R} seeds"
        bar = tqdm(range(start, cfg.epochs), desc=f"{cfg.model} {name}", disable=not progress, leave=False,
                   initial=start, total=cfg.epochs)
        for epoch in bar:
            lr = lr_at(cfg, epoch)
            if opt is None or cfg.reset_adam_every_epoch:
                opt = _adam(net, cfg, lr, device)
            for group in opt.param_groups:
                group["lr"] = lr
            total = torch.zeros(R, dtype=torch.float64, device=device)
            count = 0
            for batch, idx in enumerate(zip(*samplers, strict=True)):  # strict: run every sampler to its end
                idx = torch.tensor(idx, device=device)  # (R, B)
                loss_values = train_step(net, opt, x_train[idx], y_train[idx], gens, cfg, lr)
                if not torch.isfinite(loss_values).all():
                    bad = int((~torch.isfinite(loss_values)).nonzero()[0])
                    raise DivergenceError(f"training diverged at epoch {epoch + 1}, batch {batch + 1} (seed {seeds[bad]}): "
                                          f"loss = {loss_values[bad].item()} (lr = {lr}); try a smaller lr or check the data")
                total += loss_values.double() * idx.shape[1]
                count += idx.shape[1]
            for p in net.parameters():
                finite = torch.isfinite(p).flatten(1).all(1)
                if not finite.all():
                    bad = seeds[int((~finite).nonzero()[0])]
                    raise DivergenceError(f"training diverged at epoch {epoch + 1} (seed {bad}): "
                                          "a parameter became NaN or infinite")
            train_loss = (total / count).tolist()
            evaluated = (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs
            errs = evaluate(net, x_test, y_test, g_evals) if evaluated else None
            rows = []
            for r in range(R):
                row = {"epoch": epoch + 1, "lr": lr, "train_loss": train_loss[r]}
                for k in ("sampled", "mf_noisy", "mf_mean"):
                    row[f"test_error_{k}"] = errs[k][r] if evaluated else math.nan
                for k in METRIC_KEYS:
                    metrics[r][k].append(row[k])
                rows.append(row)
            if evaluated:
                bar.set_postfix(loss=f"{rows[0]['train_loss']:.3f}", err=f"{rows[0][f'test_error_{cfg.test_metric}']:.2f}%")
            if on_epoch_end is not None:
                on_epoch_end(epoch, rows, net)
            now = time.perf_counter()
            if checkpoint is not None and (now - last_save >= checkpoint_every or epoch + 1 == cfg.epochs):
                keep_opt = opt if not cfg.reset_adam_every_epoch else None  # a reset Adam carries nothing over
                _save_checkpoint(Path(checkpoint), epoch + 1, wall_before + now - t0, keep_opt, **state)
                last_save = now
        wall = wall_before + time.perf_counter() - t0
        bar.close()

    runs = []
    for r, seed in enumerate(seeds):
        params = {k: [p[r].detach().cpu().clone() for p in ps] for k, ps in net.param_groups().items()}
        info = {"wall_s": wall, "epoch_s": wall / cfg.epochs, "threads": n_threads, "device": str(device),
                "replicas": R, "resumed_from_epoch": start, "torch": torch.__version__, "format": FORMAT_VERSION}
        runs.append(Run(cfg, seed, metrics[r], params, info))
    return runs


def _save_checkpoint(path: Path, epochs_done: int, wall: float, opt, cfg, seeds, net, generators, metrics) -> None:
    buf = io.BytesIO()
    torch.save({"format": FORMAT_VERSION, "config": cfg.to_dict(), "seeds": list(seeds), "epochs_done": epochs_done,
                "wall_s": wall, "params": [p.detach().cpu() for p in net.parameters()],
                "adam": None if opt is None else opt.state_dict(),
                "generators": [[g.get_state() for g in gs] for gs in generators], "metrics": metrics}, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load_checkpoint(path: Path, cfg, seeds, net, generators, metrics):
    """Restore a checkpoint into (net, generators, metrics); return (epochs done, wall time, Adam state)."""
    try:
        ck = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:
        raise RunFileError(f"{path}: unreadable checkpoint ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                           "delete it to start this run over") from None
    if not isinstance(ck, dict) or ck.get("format") != FORMAT_VERSION:
        raise RunFileError(f"{path}: not a checkpoint of this version of mfcredit; delete it to start over")
    if ck.get("config") != cfg.to_dict() or ck.get("seeds") != list(seeds):
        raise RunFileError(f"{path}: checkpoint of another config or seeds (saved for seeds {ck.get('seeds')}); "
                           "delete it to start over")
    params = list(net.parameters())
    if len(ck["params"]) != len(params) or any(a.shape != b.shape for a, b in zip(ck["params"], params)):
        raise RunFileError(f"{path}: checkpoint tensors do not match the network's shapes; delete it to start over")
    with torch.no_grad():
        for p, saved in zip(params, ck["params"]):
            p.copy_(saved)
    for gs, states in zip(generators, ck["generators"]):
        for g, st in zip(gs, states):
            g.set_state(st)
    for mine, saved in zip(metrics, ck["metrics"]):
        mine.update(saved)
    return int(ck["epochs_done"]), float(ck["wall_s"]), ck["adam"]


def train_seeds(config: TrainConfig | None = None, seeds: Sequence[int] = (0, 1, 2, 3, 4), **kwargs) -> list[Run]:
    """Train one run per seed, sequentially; ``kwargs`` go to :func:`train`. See :func:`train_many`
    for the batched version."""
    return [train(config, seed=s, **kwargs) for s in seeds]


# ---------------------------------------------------------------- saving and loading

def save_run(run: Run, folder: str | Path) -> Path:
    """Save config.json, metrics.json and params.pt into ``folder``, atomically.

    Everything is written to a temporary sibling folder which is then renamed: an interrupted save
    leaves either the old folder or the new one, never a mixture.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tmp.chmod(default_mode(directory=True))  # mkdtemp's 0o700 would hide the entry from other users
        (tmp / "config.json").write_text(json.dumps(run.config.to_dict(), indent=1, sort_keys=True))
        (tmp / "metrics.json").write_text(json.dumps({"seed": run.seed, "info": run.info, "metrics": run.metrics},
                                                     indent=1, sort_keys=True))
        buf = io.BytesIO()
        torch.save({k: [t.contiguous() for t in v] for k, v in run.params.items()}, buf)
        (tmp / "params.pt").write_bytes(buf.getvalue())
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


class RunFileError(RuntimeError):
    """A saved run is missing, damaged or does not match its config."""


def load_run(folder: str | Path, expect_config: TrainConfig | None = None) -> Run:
    """Load a run saved by :func:`save_run`. Tensors are read with ``weights_only=True``: a shared
    file cannot execute code. Shapes are checked against the saved (or expected) config."""
    folder = Path(folder)
    try:
        cfg = TrainConfig.from_dict(json.loads((folder / "config.json").read_text()))
        meta = json.loads((folder / "metrics.json").read_text())
        params = torch.load(folder / "params.pt", weights_only=True, map_location="cpu")
    except FileNotFoundError as e:
        raise RunFileError(f"{folder}: incomplete saved run, missing {Path(e.filename).name}") from None
    except (json.JSONDecodeError, ValueError, TypeError) as e:
        raise RunFileError(f"{folder}: damaged saved run ({e})") from None
    except Exception as e:  # torch's unpickler refuses anything that is not plain tensors
        raise RunFileError(f"{folder}/params.pt: refused to load ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    if expect_config is not None and cfg != expect_config:
        raise RunFileError(f"{folder}: saved with a different config than the one expected")
    keys = ("m",) if cfg.model == "bp" else ("pi", "m", "xi")
    shapes = [(b, a) for a, b in zip(cfg.widths[:-1], cfg.widths[1:])]
    if not isinstance(params, dict) or set(params) != set(keys):
        raise RunFileError(f"{folder}/params.pt: expected tensors {keys}, found {sorted(params) if isinstance(params, dict) else type(params)}")
    for k in keys:
        got = [tuple(t.shape) for t in params[k]]
        if got != shapes:
            raise RunFileError(f"{folder}/params.pt: {k} has layer shapes {got}, config widths need {shapes}")
    return Run(cfg, meta["seed"], meta["metrics"], params, meta.get("info", {}))
