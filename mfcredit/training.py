"""The training loop: one recipe (a :class:`TrainConfig`), one seed, one network, one :class:`Run`.

    run = mf.train(mf.TrainConfig(epochs=20), seed=0)
    run.metrics["test_error_sampled"][-1]      # % error of a freshly sampled sub-network
    net = run.network()                        # the trained MFNet
    runs = [mf.cached_train(cfg, seed=s) for s in range(5)]   # several seeds: one after another

The loop (Li & Huang, PRL 125, 178301 (2020), arXiv:2001.03354): per epoch, reshuffle; Adam
(re-created every epoch if the recipe says so) with decoupled weight decay; after every step,
project pi into [0, 1] and xi onto >= 0. Every epoch records the learning rate Adam's parameter
groups actually held and whether Adam's state was fresh (``lr``, ``adam_fresh``); an ensemble also
keeps the largest pi each connection reached (``Run.pi_max``). Denormal floats (below 1.2e-38) are flushed to zero
while training (:func:`mfcredit.utils.flush_denormals`): late in a run they fill the gradients
and slow every product they enter. The loss is the batch-mean cross-entropy of the noisy
mean-field pass; its gradient, gBP, is the hand-written backward of
:class:`mfcredit.layers.MeanFieldLinear`, checked against autograd in tests/test_gbp.py.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch.utils.data import BatchSampler, RandomSampler
from tqdm import tqdm

from .evaluation import evaluate
from .config import TrainConfig
from .data import Data, load_dataset, validation_split
from .model import MFNet, PlainNet
from .planted import noise_pixels
from .runs import FORMAT_VERSION, Run, load_checkpoint, save_checkpoint
from .utils import flush_denormals, generator, num_threads, progress_file

METRIC_KEYS = ("epoch", "lr", "adam_fresh", "train_loss", "val_error", "test_error_sampled", "test_error_mf_noisy",
               "test_error_mf_mean")


def metric_keys(cfg: TrainConfig) -> tuple[str, ...]:
    """The per-epoch metrics of a run of ``cfg``: :data:`METRIC_KEYS`, 'val_error' only with ``cfg.n_val``."""
    return tuple(k for k in METRIC_KEYS if k != "val_error" or cfg.n_val)


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss or parameter."""


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``: halved every ``lr_halve_every`` epochs (0 = constant)."""
    return cfg.lr * (0.5 ** (epoch // cfg.lr_halve_every) if cfg.lr_halve_every else 1.0)


def init_network(cfg: TrainConfig, generator: torch.Generator, device="cpu") -> MFNet | PlainNet:
    """The recipe's network, initialised from ``generator`` (m ~ init_m_std N(0, 1), pi = init_pi,
    xi ~ init_xi U(0, 1); the plain network's W as the ensemble's m)."""
    dtype = getattr(torch, cfg.dtype)
    if cfg.model == "gbp":
        return MFNet(cfg.widths, dtype=dtype, device=device).init_(cfg.init_m_std, cfg.init_xi, cfg.init_pi, generator)
    return PlainNet(cfg.widths, dtype=dtype, device=device).init_(cfg.init_m_std, generator)


def adam(net, cfg: TrainConfig, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam over every parameter tensor (one per layer). The decoupled decay of AdamW is applied
    by ``net.decay_`` just before each step, which is the order AdamW uses; the fused kernel is
    one pass over all tensors (CPU and CUDA)."""
    return torch.optim.Adam(net.parameters(), lr=lr, betas=cfg.adam_betas, eps=cfg.adam_eps,
                            fused=device.type in ("cpu", "cuda"))


def train_step(net, opt, xb: torch.Tensor, yb: torch.Tensor, generator: torch.Generator, cfg: TrainConfig,
               lr: float) -> torch.Tensor:
    """One step on a batch xb (B, N_0), yb (B,): forward (the noisy mean-field pass for an MFNet; for
    a plain network with ``cfg.dropout``, hidden units dropped), cross-entropy, backward (gBP),
    decoupled decay, Adam, projection. Returns the batch loss (detached)."""
    mean_field = isinstance(net, MFNet)
    logits = net(xb, noise=True, generator=generator) if mean_field else net(xb, cfg.dropout, generator)
    loss = F.cross_entropy(logits, yb, reduction="none").mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.weight_decay:
        factor = 1.0 - lr * cfg.weight_decay
        net.decay_(factor, cfg.decay_pi) if mean_field else net.decay_(factor)
    opt.step()
    if mean_field:
        net.project_()
    return loss.detach()


def train_epoch(net, opt, batches, x: torch.Tensor, y: torch.Tensor, generator, cfg: TrainConfig, lr: float,
                epoch: int, pi_max: list | None = None) -> float:
    """One pass over the shuffled ``batches`` (lists of indices); the mean training loss. ``pi_max``
    (an ensemble's largest pi so far, one tensor per layer) is raised after every step.
    Raises :class:`DivergenceError` at the first NaN or infinite loss or parameter."""
    total, count = 0.0, 0
    for batch, idx in enumerate(batches):
        idx = torch.tensor(idx, device=x.device)  # index_select: the rows x[idx] gives, copied faster
        loss = train_step(net, opt, x.index_select(0, idx), y.index_select(0, idx), generator, cfg, lr)
        if not torch.isfinite(loss):
            raise DivergenceError(f"training diverged at epoch {epoch + 1}, batch {batch + 1}: loss = {loss.item()} "
                                  f"(lr = {lr}); try a smaller lr or check the data")
        for top, layer in zip(pi_max or (), net.layers):
            torch.maximum(top, layer.pi.detach(), out=top)
        total += loss.double().item() * len(idx)
        count += len(idx)
    if not all(torch.isfinite(p).all() for p in net.parameters()):
        raise DivergenceError(f"training diverged at epoch {epoch + 1}: a parameter became NaN or infinite")
    return total / count


def _tensors(cfg: TrainConfig, data: Data | None, device: torch.device, planted: torch.Generator) -> dict:
    """The run's data on ``device``: 'train', 'test' and (with ``cfg.n_val``) 'val', each (x, y); the
    first ``cfg.n_train`` training examples; with ``cfg.noise_inputs``, the planted pixels appended
    (drawn from ``planted``: the training images', then the test and validation images') and 'pool',
    the real training pixels they are drawn from."""
    dtype = getattr(torch, cfg.dtype)
    if data is None:
        data = load_dataset(cfg.dataset, n_train=cfg.n_train, dtype=dtype)
    x_train, y_train = data.x_train[: cfg.n_train].to(device, dtype), data.y_train[: cfg.n_train].to(device)
    if x_train.shape[1] + cfg.noise_inputs != cfg.widths[0]:
        raise ValueError(f"input size {x_train.shape[1]} (+ {cfg.noise_inputs} planted) does not match "
                         f"widths[0] = {cfg.widths[0]}")
    if len(x_train) < cfg.n_train:
        raise ValueError(f"config asks for n_train={cfg.n_train} but the data has {len(x_train)} training examples")
    out = {"train": (x_train, y_train), "test": (data.x_test.to(device, dtype), data.y_test.to(device))}
    if cfg.n_val:
        x, y = validation_split(cfg.dataset, cfg.n_val, cfg.n_train, dtype=dtype)
        out["val"] = (x.to(device), y.to(device))
    if cfg.noise_inputs:
        for part in [p for p in ("train", "test", "val") if p in out]:
            x, y = out[part]
            out[part] = (torch.cat([x, noise_pixels(x_train.cpu(), len(x), cfg.noise_inputs, planted).to(device)], 1), y)
        out["pool"] = x_train
    return out


def _redraw(cfg: TrainConfig, d: dict, planted: torch.Generator) -> None:
    """New planted pixels for the training images (``cfg.redraw_noise``), in place."""
    x = d["train"][0]
    x[:, -cfg.noise_inputs:] = noise_pixels(d["pool"].cpu(), len(x), cfg.noise_inputs, planted).to(x.device)


def _resume(checkpoint: str | Path | None, device: torch.device, state: dict):
    """(first epoch, wall time so far, Adam or None): restored from ``checkpoint`` into the run's
    ``state`` (net, generators, metrics, trace) if that file exists, else a fresh start."""
    if checkpoint is None or not Path(checkpoint).exists():
        return 0, 0.0, None
    start, wall, adam_state = load_checkpoint(Path(checkpoint), **state)
    opt = None
    if adam_state is not None:
        opt = adam(state["net"], state["cfg"], lr_at(state["cfg"], start), device)
        opt.load_state_dict(adam_state)
    return start, wall, opt


def _epoch_row(cfg: TrainConfig, epoch: int, net, d: dict, g_eval, g_val) -> dict:
    """The test and validation errors of one row of metrics; a test error is NaN in epochs that
    :attr:`TrainConfig.eval_every` skips, the validation error NaN without ``cfg.n_val``."""
    evaluated = (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs
    errs = evaluate(net, *d["test"], g_eval) if evaluated else {}
    row = {"val_error": evaluate(net, *d["val"], g_val)[cfg.test_metric] if "val" in d else math.nan}
    row.update({f"test_error_{k}": errs.get(k, math.nan) for k in ("sampled", "mf_noisy", "mf_mean")})
    return row


def _keep_best(trace: dict, row: dict, net) -> None:
    """Early stopping: the parameters of the epoch of lowest validation error so far (the earliest on a tie)."""
    if row["val_error"] < trace["best_error"]:
        trace.update(best=net.state(), best_epoch=row["epoch"], best_error=row["val_error"])


def _one_epoch(cfg: TrainConfig, epoch: int, opt, state: dict, batches, d: dict, device) -> tuple:
    """Train one epoch (a fresh Adam where the recipe resets it) and return (Adam, its metrics row)."""
    net, trace = state["net"], state["trace"]
    noise, g_eval, _, planted, g_val = state["generators"]
    lr = lr_at(cfg, epoch)
    if opt is None or cfg.reset_adam_every_epoch:
        opt = adam(net, cfg, lr, device)
    for group in opt.param_groups:
        group["lr"] = lr
    fresh = len(opt.state) == 0  # no step taken since it was created
    if cfg.redraw_noise:
        _redraw(cfg, d, planted)
    loss = train_epoch(net, opt, batches, *d["train"], noise, cfg, lr, epoch, trace["pi_max"])
    used = {group["lr"] for group in opt.param_groups}
    row = {"epoch": epoch + 1, "lr": used.pop() if len(used) == 1 else math.nan, "adam_fresh": fresh,
           "train_loss": loss, **_epoch_row(cfg, epoch, net, d, g_eval, g_val)}
    if "val" in d:
        _keep_best(trace, row, net)
    return opt, row


def train(config: TrainConfig | None = None, seed: int = 0, data: Data | None = None, progress: bool | str | None = None,
          threads: int | None = None, device: str | torch.device = "cpu",
          on_epoch_end: Callable[[int, dict, object], None] | None = None,
          checkpoint: str | Path | None = None, checkpoint_every: float = 30.0) -> Run:
    """Train one network with ``config`` from ``seed``; return a :class:`Run`. During the call every
    torch thread flushes denormal floats to zero (:func:`mfcredit.utils.flush_denormals`); the
    caller's mode is back afterwards.

    Args:
        data: a :class:`Data`; default loads ``config.dataset`` with its first ``config.n_train`` images.
        progress: a tqdm bar over epochs: True, False or 'terminal' (see :func:`mfcredit.utils.progress_file`;
            default $MFCREDIT_PROGRESS, else yes).
        threads: torch threads for this call (default $MFCREDIT_THREADS, else the fastest measured here).
        device: 'cpu' or 'cuda' (parameters, data and noise generators all live there).
        on_epoch_end: called as ``f(epoch, metrics_row, net)`` after each epoch.
        checkpoint: a file, written at the end of an epoch at most every ``checkpoint_every`` seconds
            (0: every epoch) and after the last one. If it exists, training resumes from it, to the
            same numbers as an uninterrupted run. :func:`mfcredit.cached_train` deletes it at the end.
    Raises:
        DivergenceError: naming the epoch and batch where the loss became NaN or infinite.
    """
    cfg = config or TrainConfig()
    bar_file = progress_file(progress)  # make figures: the pipeline's terminal, never the notebook
    device = torch.device(device)
    with num_threads(threads) as n_threads, flush_denormals():
        noise = generator(seed, device)  # initialisation, then the training noise
        g_eval = generator(seed + 7_777_777, device)  # evaluation draws: independent of eval_every
        g_shuffle = torch.Generator().manual_seed(seed + 1)  # shuffling runs on the CPU
        planted, g_val = torch.Generator().manual_seed(seed + 5_555_555), generator(seed + 8_888_888, device)
        d = _tensors(cfg, data, device, planted)
        batches = BatchSampler(RandomSampler(range(cfg.n_train), generator=g_shuffle), cfg.batch_size, drop_last=False)
        net = init_network(cfg, noise, device)
        trace = {"pi_max": [layer.pi.detach().clone() for layer in net.layers] if cfg.model == "gbp" else None,
                 "best": None, "best_epoch": 0, "best_error": math.inf}
        state = dict(cfg=cfg, seed=seed, net=net, generators=(noise, g_eval, g_shuffle, planted, g_val),
                     metrics={k: [] for k in metric_keys(cfg)}, trace=trace)
        start, wall_before, opt = _resume(checkpoint, device, state)
        t0 = last_save = time.perf_counter()
        bar = tqdm(range(start, cfg.epochs), desc=f"{cfg.model} seed {seed}", disable=bar_file is None, leave=False,
                   initial=start, total=cfg.epochs, file=bar_file)
        for epoch in bar:
            opt, row = _one_epoch(cfg, epoch, opt, state, batches, d, device)
            for k, v in state["metrics"].items():
                v.append(row[k])
            if not math.isnan(row["test_error_sampled"]):
                bar.set_postfix(loss=f"{row['train_loss']:.3f}", err=f"{row[f'test_error_{cfg.test_metric}']:.2f}%")
            if on_epoch_end is not None:
                on_epoch_end(epoch, row, net)
            now = time.perf_counter()
            if checkpoint is not None and (now - last_save >= checkpoint_every or epoch + 1 == cfg.epochs):
                keep = None if cfg.reset_adam_every_epoch else opt  # a reset Adam carries nothing over
                save_checkpoint(Path(checkpoint), epochs_done=epoch + 1, wall=wall_before + now - t0, opt=keep, **state)
                last_save = now
        wall = wall_before + time.perf_counter() - t0
        bar.close()
    info = {"wall_s": wall, "epoch_s": wall / cfg.epochs, "threads": n_threads, "device": str(device),
            "resumed_from_epoch": start, "torch": torch.__version__, "format": FORMAT_VERSION,
            **({"best_epoch": trace["best_epoch"]} if "val" in d else {})}
    pi_max = [t.cpu().clone() for t in trace["pi_max"]] if trace["pi_max"] is not None else None
    return Run(cfg, seed, state["metrics"], net.state(), info, pi_max=pi_max, best=trace["best"])
