"""The training loop: one recipe (a :class:`TrainConfig`), one seed, one :class:`Run`.

    run = mf.train(mf.TrainConfig(epochs=20), seed=0)
    run.metrics["test_error_sampled"][-1]      # % error of a freshly sampled sub-network
    net = run.network()                        # the trained MFNet

The loop (paper.md §3): per epoch, reshuffle; Adam (re-created every epoch if the recipe says so)
with decoupled weight decay; after every step, project pi into [0, 1] and xi onto >= 0. The loss is
the batch-mean cross-entropy of the noisy mean-field pass; autograd through the reparameterised
noise is exactly gBP (paper.md §2, checked in tests/test_gbp.py).
"""
from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset
from tqdm import tqdm

from .config import TrainConfig
from .data import Data, load_dataset
from .model import MFNet, PlainNet, build
from .utils import generator, num_threads

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
    return 100.0 * (logits.argmax(dim=1) != y).double().mean().item()


@torch.no_grad()
def evaluate(net, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> dict:
    """Test error (%) three ways: one freshly sampled sub-network, the noisy mean-field pass, eps = 0.

    For a plain network the three coincide (there is no distribution).
    """
    if isinstance(net, PlainNet):
        e = error_rate(net(x), y)
        return {"sampled": e, "mf_noisy": e, "mf_mean": e}
    return {
        "sampled": error_rate(net.sample(generator)(x), y),
        "mf_noisy": error_rate(net(x, noise=True, generator=generator), y),
        "mf_mean": error_rate(net(x, noise=False), y),
    }


def _optimizer(net, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    groups = []
    for name, params in net.param_groups().items():
        decay = cfg.weight_decay if (name != "pi" or cfg.decay_pi) else 0.0
        groups.append({"params": params, "weight_decay": decay})
    # AdamW = Adam with decoupled decay p <- p - lr * weight_decay * p
    return torch.optim.AdamW(groups, lr=lr, betas=cfg.adam_betas, eps=cfg.adam_eps)


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``: halved every ``lr_halve_every`` epochs (0 = constant)."""
    return cfg.lr * (0.5 ** (epoch // cfg.lr_halve_every) if cfg.lr_halve_every else 1.0)


def train(config: TrainConfig | None = None, seed: int = 0, data: Data | None = None, progress: bool = True,
          threads: int | None = None, device: str | torch.device = "cpu",
          on_epoch_end: Callable[[int, dict, object], None] | None = None) -> Run:
    """Train one network with ``config`` from ``seed``; return a :class:`Run`.

    Args:
        data: a :class:`Data`; default loads ``config.dataset`` with its first ``config.n_train`` images.
        threads: torch threads for this call (default $MFCREDIT_THREADS, else 2: the fastest measured here).
        device: 'cpu' or 'cuda' (everything, generators included, lives there).
        on_epoch_end: called as ``f(epoch, metrics_row, net)`` after each epoch.
    Raises:
        DivergenceError: naming the epoch and batch where the loss became NaN or infinite.
    """
    cfg = config or TrainConfig()
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

    with num_threads(threads) as n_threads:
        g = generator(seed, device)  # init, shuffling and training noise
        g_eval = generator(seed + 7_777_777, device)  # evaluation draws: independent of eval_every
        g_shuffle = torch.Generator().manual_seed(int(seed) + 1)  # sampler runs on the CPU
        net = build(cfg.model, cfg.widths, dtype=dtype, device=device)
        net.init_(cfg.init_m_std, cfg.init_xi, cfg.init_pi, generator=g)
        loader = DataLoader(
            TensorDataset(x_train, y_train), batch_size=None,
            sampler=BatchSampler(RandomSampler(range(len(x_train)), generator=g_shuffle), cfg.batch_size, drop_last=False),
        )
        metrics = {k: [] for k in METRIC_KEYS}
        opt = None
        t0 = time.perf_counter()
        bar = tqdm(range(cfg.epochs), desc=f"{cfg.model} seed {seed}", disable=not progress, leave=False)
        for epoch in bar:
            lr = lr_at(cfg, epoch)
            if opt is None or cfg.reset_adam_every_epoch:
                opt = _optimizer(net, cfg, lr)
            for group in opt.param_groups:
                group["lr"] = lr
            total, count = 0.0, 0
            for batch, (xb, yb) in enumerate(loader):
                loss = F.cross_entropy(net(xb, noise=True, generator=g), yb)
                if not torch.isfinite(loss):
                    raise DivergenceError(f"training diverged at epoch {epoch + 1}, batch {batch + 1}: loss = {loss.item()} "
                                          f"(lr = {lr}); try a smaller lr or check the data")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                net.project_()
                total += loss.item() * len(yb)
                count += len(yb)
            if not all(torch.isfinite(p).all() for p in net.parameters()):
                raise DivergenceError(f"training diverged at epoch {epoch + 1}: a parameter became NaN or infinite")
            row = {"epoch": epoch + 1, "lr": lr, "train_loss": total / count}
            if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
                errs = evaluate(net, x_test, y_test, g_eval)
                row.update({f"test_error_{k}": v for k, v in errs.items()})
                bar.set_postfix(loss=f"{row['train_loss']:.3f}", err=f"{errs[cfg.test_metric]:.2f}%")
            else:
                row.update({f"test_error_{k}": math.nan for k in ("sampled", "mf_noisy", "mf_mean")})
            for k in METRIC_KEYS:
                metrics[k].append(row[k])
            if on_epoch_end is not None:
                on_epoch_end(epoch, row, net)
        wall = time.perf_counter() - t0
        bar.close()

    params = {k: [p.detach().cpu().clone() for p in ps] for k, ps in net.param_groups().items()}
    info = {"wall_s": wall, "epoch_s": wall / cfg.epochs, "threads": n_threads, "device": str(device),
            "torch": torch.__version__, "format": FORMAT_VERSION}
    return Run(cfg, int(seed), metrics, params, info)


def train_seeds(config: TrainConfig | None = None, seeds: Sequence[int] = (0, 1, 2, 3, 4), **kwargs) -> list[Run]:
    """Train one run per seed (sequentially); ``kwargs`` go to :func:`train`."""
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
