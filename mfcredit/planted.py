"""Planted problems, where the truth about which connections are needed is known by construction
(notebook 8):

- **noise pixels**: extra input pixels appended to every image, each value drawn independently from
  the marginal distribution of the real pixel intensities, so they look like pixels but say nothing
  about the label (:func:`noise_pixels`; ``TrainConfig(noise_inputs=K)`` trains on them);
- **a teacher**: Gaussian inputs labelled by a fixed random network that reads only a known subset
  of them (:func:`teacher_split`; ``mf.load_dataset("teacher")`` and ``TrainConfig(dataset="teacher")``).

    data = mf.load_dataset("teacher", n_train=4000)   # x (4000, 200), labels from the teacher
    mf.planted.teacher().used                         # (200,) bool: the inputs the teacher reads
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from .utils import generator

#: The teacher problem: inputs, how many of them the teacher reads, its hidden units, classes,
#: the size of its pool of training examples and of its test set, and the seed that fixes it all.
TEACHER_INPUTS, TEACHER_USED, TEACHER_HIDDEN, TEACHER_CLASSES = 200, 100, 100, 10
TEACHER_POOL, TEACHER_TEST, TEACHER_SEED = 60_000, 10_000, 2020


def noise_pixels(pool: torch.Tensor, n: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """(n, k) values drawn independently, uniformly with replacement, from the entries of ``pool`` (the
    real pixel values of the training images, any shape): each planted pixel of each image follows the
    marginal distribution of real pixel intensities and is independent of everything else."""
    flat = pool.reshape(-1)
    return flat[torch.randint(flat.numel(), (n, k), generator=gen)]


@dataclass(frozen=True)
class Teacher:
    """label(x) = argmax_c W2[c] (relu(W1 x / sqrt(U)) - E[relu]) for x (B, D): W1 (H, D) has
    N(0, 1) entries in the columns of the U ``used`` inputs and zeros elsewhere, W2 (C, H) N(0, 1)
    entries; E[relu] = sigma_i / sqrt(2 pi) is the mean of each hidden unit's ReLU for Gaussian x
    (sigma_i^2 = sum_j W1_ij^2 / U), subtracted so that no class is favoured on average."""

    w1: torch.Tensor
    w2: torch.Tensor
    used: torch.Tensor

    @torch.no_grad()
    def labels(self, x: torch.Tensor) -> torch.Tensor:
        """Class labels (B,) int64 of inputs x (B, D), computed in float64 (no ties flip by rounding)."""
        u = int(self.used.sum())
        h = x.double() @ self.w1.T / math.sqrt(u)
        centre = self.w1.pow(2).sum(1).div(u).sqrt() / math.sqrt(2 * math.pi)
        return ((torch.relu(h) - centre) @ self.w2.T).argmax(1)


@functools.cache
def teacher() -> Teacher:
    """The teacher of the planted problem, fixed by :data:`TEACHER_SEED` (the same on every machine)."""
    g = generator(TEACHER_SEED)
    used = torch.zeros(TEACHER_INPUTS, dtype=torch.bool)
    used[torch.randperm(TEACHER_INPUTS, generator=g)[:TEACHER_USED]] = True
    w1 = torch.randn(TEACHER_HIDDEN, TEACHER_INPUTS, generator=g, dtype=torch.float64) * used
    w2 = torch.randn(TEACHER_CLASSES, TEACHER_HIDDEN, generator=g, dtype=torch.float64)
    return Teacher(w1, w2, used)


def _pool(start: int = 0, stop: int = TEACHER_POOL + TEACHER_TEST, rows: int = 10_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Examples ``start`` to ``stop`` of the teacher problem (training pool first, then the test set):
    x N(0, 1) (n, 200) float64 and their labels.

    The whole pool is drawn ``rows`` at a time into one scratch block, labelled, and only the rows
    asked for are kept, so a sweep worker never holds the 112 MB pool; the draws are those of a
    single randn over the whole pool, since every block holds a multiple of 16 numbers (torch fills
    normals 16 at a time)."""
    g, t = generator(TEACHER_SEED + 1), teacher()
    x, y = torch.empty(stop - start, TEACHER_INPUTS, dtype=torch.float64), torch.empty(stop - start, dtype=torch.int64)
    block = torch.empty(rows, TEACHER_INPUTS, dtype=torch.float64)
    for a in range(0, min(stop, TEACHER_POOL + TEACHER_TEST), rows):
        block.normal_(generator=g)
        lo, hi = max(a, start), min(a + rows, stop)
        if lo < hi:
            x[lo - start:hi - start] = block[lo - a:hi - a]
            y[lo - start:hi - start] = t.labels(block[lo - a:hi - a])
    return x, y


def teacher_arrays(n_train: int | None = None, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    """(x_train, y_train, x_test, y_test) of the teacher problem: the FIRST ``n_train`` examples of its
    training pool (all by default) and its test set; what ``mf.load_dataset("teacher")`` returns."""
    n = TEACHER_POOL if n_train is None else n_train
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= TEACHER_POOL:
        raise ValueError(f"n_train must be an integer in [1, {TEACHER_POOL}], got {n_train!r}")
    return (*teacher_split(0, n, dtype), *teacher_split(TEACHER_POOL, TEACHER_POOL + TEACHER_TEST, dtype))


def teacher_split(start: int, stop: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) of examples ``start`` to ``stop`` of the teacher problem: the training pool is 0 to
    :data:`TEACHER_POOL`, the test set the next :data:`TEACHER_TEST`. x (n, 200) in ``dtype``, y (n,)."""
    total = TEACHER_POOL + TEACHER_TEST
    if not 0 <= start <= stop <= total:
        raise ValueError(f"teacher examples {start} to {stop}: out of 0 to {total}")
    x, y = _pool(start, stop)
    return x.to(dtype), y
