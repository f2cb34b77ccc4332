"""Training recipes as dataclasses. The defaults ARE the published recipe of Li & Huang,
PRL 125, 178301 (2020), arXiv:2001.03354.

    cfg = mf.TrainConfig()                       # the paper recipe
    cfg = mf.TrainConfig(epochs=20, n_train=2000)  # change field by field
    cfg = mf.recipe_2022()                        # the authors' later variant
    cfg = mf.recipe_cifar10()                     # the CIFAR-10 recipe

Every field is validated on construction; a bad value raises ``ValueError`` naming the field.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

DATASETS = ("mnist", "fashion-mnist", "cifar10", "teacher")
#: Early-stopping images of the standard-BP baseline (:meth:`TrainConfig.bp_baseline`): the LAST ones of
#: the training file, never trained on. The N_VAL before them choose hyperparameters (notebook 6), so
#: no choice is made on the images that picked the early-stopping epoch.
N_VAL = 5_000
#: Training examples in each data set's training file (the teacher's: its pool, mfcredit.planted).
TRAIN_SIZES = {"mnist": 60_000, "fashion-mnist": 60_000, "cifar10": 50_000, "teacher": 60_000}
METRICS = ("sampled", "mf_noisy", "mf_mean")


@dataclass(frozen=True)
class TrainConfig:
    """One training run's recipe. Field defaults = the published 2020 recipe."""

    model: str = "gbp"
    """'gbp': spike-and-slab ensemble trained by mean-field BP; 'bp': plain network, standard BP."""
    widths: tuple = (784, 100, 100, 10)
    dataset: str = "mnist"
    n_train: int = 10_000
    """Use the FIRST n_train images of the official training file, in the original order."""
    epochs: int = 200
    batch_size: int = 500
    lr: float = 0.1
    lr_halve_every: int = 20
    """Halve the learning rate every this many epochs; 0 keeps it constant."""
    adam_betas: tuple = (0.9, 0.999)
    adam_eps: float = 1e-8
    reset_adam_every_epoch: bool = True
    weight_decay: float = 1e-4
    """Decoupled decay (p <- p - lr * weight_decay * p) on m and xi."""
    decay_pi: bool = False
    """Also decay pi (the 2022 variant does)."""
    init_m_std: float = math.sqrt(2 / 784)
    """m ~ init_m_std * N(0, 1) in every layer (sqrt(2/784) everywhere, also for 100-wide layers)."""
    init_xi: float = 0.01
    """xi ~ init_xi * U(0, 1)."""
    init_pi: float = 0.0
    test_metric: str = "sampled"
    """Which of the three evaluations is the run's headline test error."""
    eval_every: int = 1
    """Evaluate the test set every this many epochs (the last epoch is always evaluated)."""
    n_val: int = 0
    """If > 0: after every epoch, the error on the LAST n_val images of the training file (never
    trained on) is recorded ('val_error'), and the run keeps the parameters of its epoch of lowest
    validation error (``Run.best``, early stopping; ``info['best_epoch']``)."""
    dropout: float = 0.0
    """Standard BP only: the probability that a hidden unit is dropped in a training step (inverted
    dropout: kept units are scaled by 1 / (1 - dropout); evaluation uses the whole network)."""
    noise_inputs: int = 0
    """Planted irrelevant inputs: this many extra input pixels, appended to every image, drawn from
    the marginal distribution of the real pixel values (:mod:`mfcredit.planted`); widths[0] counts them."""
    redraw_noise: bool = False
    """Draw the planted inputs of the training images anew at every epoch (no connection can use them)."""
    dtype: str = "float32"

    def __post_init__(self):
        # normalise sequences to tuples so configs hash and compare by value
        for name in ("widths", "adam_betas"):
            v = getattr(self, name)
            if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
                raise ValueError(f"TrainConfig.{name}: must be a sequence of numbers (got {v!r})")
            object.__setattr__(self, name, tuple(v))
        _validate(self)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def bp_baseline(self, **changes) -> "TrainConfig":
        """The standard-BP baseline of this recipe: the same widths, data, initialisation of the means
        and training loop, plain weights trained by backprop, recording its error on the last
        :data:`N_VAL` training images every epoch (early stopping reads it); ``changes`` on top."""
        return self.replace(**{"model": "bp", "n_val": N_VAL, **changes})

    def to_dict(self) -> dict:
        """Every field by name (what is saved in config.json and hashed into the cache key)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s): {sorted(unknown)}")
        return cls(**d)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _validate(c: TrainConfig) -> None:
    def bad(name, msg):
        raise ValueError(f"TrainConfig.{name}: {msg} (got {getattr(c, name)!r})")

    if c.model not in ("gbp", "bp"):
        bad("model", "must be 'gbp' or 'bp'")
    if len(c.widths) < 2 or not all(_is_int(w) and w >= 1 for w in c.widths):
        bad("widths", "must be at least two positive integers (input size ... number of classes)")
    if c.dataset not in DATASETS:
        bad("dataset", f"must be one of {DATASETS}")
    for name in ("n_train", "epochs", "batch_size", "eval_every"):
        v = getattr(c, name)
        if not _is_int(v) or v < 1:
            bad(name, "must be an integer >= 1")
    if not _is_int(c.lr_halve_every) or c.lr_halve_every < 0:
        bad("lr_halve_every", "must be an integer >= 0 (0 = constant learning rate)")
    for name in ("lr", "adam_eps", "init_m_std"):
        v = getattr(c, name)
        if not _is_num(v) or v <= 0:
            bad(name, "must be a finite number > 0")
    for name in ("weight_decay", "init_xi"):
        v = getattr(c, name)
        if not _is_num(v) or v < 0:
            bad(name, "must be a finite number >= 0")
    if c.lr * c.weight_decay >= 1:
        bad("weight_decay", f"lr * weight_decay must be < 1, or the decoupled decay flips signs (lr = {c.lr})")
    if not _is_num(c.init_pi) or not 0 <= c.init_pi <= 1:
        bad("init_pi", "must be in [0, 1]")
    if len(c.adam_betas) != 2 or not all(_is_num(b) and 0 <= b < 1 for b in c.adam_betas):
        bad("adam_betas", "must be two numbers in [0, 1)")
    _validate_extras(c)
    for name in ("reset_adam_every_epoch", "decay_pi"):
        if not isinstance(getattr(c, name), bool):
            bad(name, "must be True or False (a bool, not a string)")
    if c.test_metric not in METRICS:
        bad("test_metric", f"must be one of {METRICS}")
    if c.dtype not in ("float32", "float64"):
        bad("dtype", "must be 'float32' or 'float64'")


def _validate_extras(c: TrainConfig) -> None:
    """The fields of validation, dropout and planted inputs."""
    def bad(name, msg):
        raise ValueError(f"TrainConfig.{name}: {msg} (got {getattr(c, name)!r})")

    for name in ("n_val", "noise_inputs"):
        if not _is_int(getattr(c, name)) or getattr(c, name) < 0:
            bad(name, "must be an integer >= 0")
    if c.n_val and c.dataset in TRAIN_SIZES and _is_int(c.n_train) and c.n_train + c.n_val > TRAIN_SIZES[c.dataset]:
        bad("n_val", f"the first n_train = {c.n_train} and the last n_val training examples overlap: "
                     f"{c.dataset} has {TRAIN_SIZES[c.dataset]}")
    if not _is_num(c.dropout) or not 0 <= c.dropout < 1 or (c.dropout and c.model != "bp"):
        bad("dropout", "must be a number in [0, 1), and 0 unless model = 'bp'")
    if not isinstance(c.redraw_noise, bool) or (c.redraw_noise and not c.noise_inputs):
        bad("redraw_noise", "must be True or False, and True only with noise_inputs > 0")
    if c.noise_inputs and (c.dataset in ("cifar10", "teacher") or c.widths[0] != 784 + c.noise_inputs):
        bad("noise_inputs", "planted pixels go on MNIST or Fashion-MNIST, with widths[0] = 784 + noise_inputs")


def recipe_2022(**changes) -> TrainConfig:
    """The authors' later rewrite: constant lr 0.1, persistent Adam, decay on pi too, 100 epochs,
    headline metric the noisy mean-field pass."""
    base = dict(lr_halve_every=0, reset_adam_every_epoch=False, decay_pi=True, epochs=100, test_metric="mf_noisy")
    return TrainConfig(**{**base, **changes})


def recipe_cifar10(**changes) -> TrainConfig:
    """The authors' CIFAR-10 recipe: 3072-200-200-10, all 50,000 images, batch 200, 100 epochs,
    Adam lr 0.006 halved every 30 epochs, m ~ N(0, 0.8^2). Weight decay and the other details are
    not stated; they keep the paper recipe's values."""
    base = dict(dataset="cifar10", widths=(3072, 200, 200, 10), n_train=50_000, batch_size=200, epochs=100,
                lr=0.006, lr_halve_every=30, init_m_std=0.8)
    return TrainConfig(**{**base, **changes})
