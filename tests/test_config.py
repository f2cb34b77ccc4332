"""Training recipes: the published defaults, the variants, and validation of every field
(example-based, then property-based with hypothesis against an independent statement of the rules)."""
import json
import math

import pytest
from conftest import SETTINGS, is_int, is_num
from hypothesis import given
from hypothesis import strategies as st

import mfcredit as mf
from mfcredit.config import DATASETS, METRICS, TRAIN_SIZES
from mfcredit.training import lr_at



def test_paper_recipe_defaults():
    c = mf.TrainConfig()
    assert c.widths == (784, 100, 100, 10) and c.n_train == 10_000 and c.batch_size == 500 and c.epochs == 200
    assert c.lr == 0.1 and c.lr_halve_every == 20 and c.reset_adam_every_epoch and not c.decay_pi
    assert c.weight_decay == 1e-4 and c.init_xi == 0.01 and c.init_pi == 0.0
    assert c.init_m_std == pytest.approx(math.sqrt(2 / 784)) and c.test_metric == "sampled"
    assert [lr_at(c, e) for e in (0, 19, 20, 40, 199)] == [0.1, 0.1, 0.05, 0.025, 0.1 * 0.5 ** 9]
    v = mf.recipe_2022()
    assert v.lr_halve_every == 0 and not v.reset_adam_every_epoch and v.decay_pi and v.epochs == 100
    assert v.test_metric == "mf_noisy" and lr_at(v, 99) == 0.1
    cf = mf.recipe_cifar10()
    assert cf.widths == (3072, 200, 200, 10) and cf.batch_size == 200 and cf.lr == 0.006 and cf.init_m_std == 0.8


@pytest.mark.parametrize("field,value,match", [
    ("epochs", 0, "epochs"), ("epochs", 2.5, "epochs"), ("widths", (784, 0, 10), "widths"),
    ("widths", (784,), "widths"), ("lr", -1.0, "lr"), ("lr", float("nan"), "lr"), ("init_pi", 1.5, "init_pi"),
    ("decay_pi", "false", "decay_pi"), ("model", "sgd", "model"), ("dataset", "imagenet", "dataset"),
    ("batch_size", True, "batch_size"), ("test_metric", "best", "test_metric"), ("adam_betas", (0.9, 1.0), "adam_betas"),
])
def test_config_validation_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=f"TrainConfig.{match}"):
        mf.TrainConfig(**{field: value})


def test_config_roundtrip_json():
    c = mf.recipe_2022(widths=[784, 50, 10])
    assert mf.TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    with pytest.raises(ValueError, match="unknown"):
        mf.TrainConfig.from_dict({"epochz": 3})


# ---------------------------------------------------------------- properties (hypothesis)

#: What each scalar field accepts, written from the spec independently of mfcredit/config.py.
VALID = {
    "model": lambda v: v in ("gbp", "bp"),
    "dataset": lambda v: v in DATASETS,
    "n_train": lambda v: is_int(v) and v >= 1,
    "epochs": lambda v: is_int(v) and v >= 1,
    "batch_size": lambda v: is_int(v) and v >= 1,
    "eval_every": lambda v: is_int(v) and v >= 1,
    "lr_halve_every": lambda v: is_int(v) and v >= 0,
    "lr": lambda v: is_num(v) and v > 0,
    "adam_eps": lambda v: is_num(v) and v > 0,
    "init_m_std": lambda v: is_num(v) and v > 0,
    "weight_decay": lambda v: is_num(v) and v >= 0,
    "init_xi": lambda v: is_num(v) and v >= 0,
    "init_pi": lambda v: is_num(v) and 0 <= v <= 1,
    "reset_adam_every_epoch": lambda v: isinstance(v, bool),
    "decay_pi": lambda v: isinstance(v, bool),
    "test_metric": lambda v: v in METRICS,
    "dtype": lambda v: v in ("float32", "float64"),
    "n_val": lambda v: is_int(v) and v >= 0,
    "noise_inputs": lambda v: is_int(v) and v >= 0,
    "dropout": lambda v: is_num(v) and 0 <= v < 1,
    "redraw_noise": lambda v: isinstance(v, bool),
}


def cross_field(c: dict) -> list[str]:
    """The rules that tie fields together (the other fields at their defaults where ``c`` lacks them):
    validation images must not overlap the training ones; only standard BP has dropout; planted
    inputs need a matching first width (784 + K, so any K > 0 with the default widths is wrong) on
    MNIST or Fashion-MNIST, and redrawing needs planted inputs."""
    bad = []
    n_train, n_val, dataset = c.get("n_train", 10_000), c.get("n_val", 0), c.get("dataset", "mnist")
    if VALID["n_val"](n_val) and n_val and VALID["n_train"](n_train) and dataset in TRAIN_SIZES \
            and n_train + n_val > TRAIN_SIZES[dataset]:
        bad.append("n_val")
    if VALID["dropout"](c.get("dropout", 0.0)) and c.get("dropout", 0.0) and c.get("model", "gbp") != "bp":
        bad.append("dropout")
    k = c.get("noise_inputs", 0)
    if VALID["noise_inputs"](k) and k:
        bad.append("noise_inputs")
    if c.get("redraw_noise") is True and not (VALID["noise_inputs"](k) and k):
        bad.append("redraw_noise")
    return bad

any_value = st.one_of(
    st.integers(-3, 10**7), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=6), st.sampled_from(["gbp", "bp", "mnist", "cifar10", "float32", "float64", "sampled",
                                          "mf_noisy", "false", "true", "0"]),
    st.floats(0, 1), st.integers(0, 3),  # boundary-heavy valid values
)


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(VALID)), any_value, max_size=4))
def test_config_accepts_exactly_the_valid_values(changes):
    bad = [k for k, v in changes.items() if not VALID[k](v)] + cross_field(changes)
    lr, wd = changes.get("lr", 0.1), changes.get("weight_decay", 1e-4)
    if VALID["lr"](lr) and VALID["weight_decay"](wd) and lr * wd >= 1:
        bad.append("weight_decay")  # the decoupled decay factor 1 - lr * wd must stay positive
    if bad:
        with pytest.raises(ValueError) as err:
            mf.TrainConfig(**changes)
        assert any(f"TrainConfig.{k}" in str(err.value) for k in bad), str(err.value)
    else:
        cfg = mf.TrainConfig(**changes)
        assert all(getattr(cfg, k) == v for k, v in changes.items())
        assert mf.TrainConfig.from_dict(cfg.to_dict()) == cfg


@SETTINGS
@given(st.one_of(st.lists(st.one_of(st.integers(-2, 3000), st.floats(), st.booleans(), st.text(max_size=2)), max_size=5),
                 st.integers(), st.none(), st.text(max_size=5)))
def test_config_widths(widths):
    ok = isinstance(widths, list) and len(widths) >= 2 and all(is_int(w) and w >= 1 for w in widths)
    if ok:
        assert mf.TrainConfig(widths=widths).widths == tuple(widths)
    else:
        with pytest.raises(ValueError, match="TrainConfig.widths"):
            mf.TrainConfig(widths=widths)
