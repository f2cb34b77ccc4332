"""Notebook plumbing: parameter checks, deterministic figure files, metadata stripping, the
committed notebooks' structure (one parameters cell, python3 kernel, no timing metadata)."""
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import mfcredit as mf  # noqa: E402
from mfcredit.pipeline import strip_metadata  # noqa: E402

ROOT = mf.utils.REPO
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("value,expected", [(True, True), (False, False), ("false", False), ("False", False),
                                            ("true", True), ("1", True), ("0", False), (0, False)])
def test_quick_flag_parsing(value, expected, monkeypatch):
    monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    assert mf.nb.setup(value) is expected


def test_quick_flag_rejects_garbage_and_env_forces_quick(monkeypatch):
    monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    with pytest.raises(ValueError, match="'quick'"):
        mf.nb.setup("maybe")
    monkeypatch.setenv("MFCREDIT_QUICK", "1")
    assert mf.nb.setup(False) is True
    monkeypatch.setenv("MFCREDIT_QUICK", "0")
    mf.nb.setup(False)


@pytest.mark.parametrize("args,match", [(("epochs", 0, int, 1), "'epochs'.*\\[1"), (("epochs", 2.0, int, 1), "integer"),
                                        (("tol", float("nan"), float), "finite"), (("tol", 2.0, float, 0, 1), "'tol'"),
                                        (("n", True, int), "integer")])
def test_param_validation(args, match):
    with pytest.raises(ValueError, match=match):
        mf.nb.param(*args)


def test_figures_are_byte_identical_and_results_round(tmp_path, monkeypatch):
    monkeypatch.setattr(mf.nb, "ROOT", tmp_path)
    monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    mf.nb.setup(False)
    blobs = []
    for _ in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 2])
        mf.nb.save_figure(fig, "f")
        plt.close(fig)
        blobs.append({e: (tmp_path / "figures" / f"f.{e}").read_bytes() for e in ("png", "pdf")})
    assert blobs[0] == blobs[1]
    assert b"CreationDate" not in blobs[0]["pdf"] and b"Matplotlib" not in blobs[0]["png"]
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["f.pdf", "f.png"]  # no temp files left
    mf.nb.save_results("r", {"a": 1 / 3, "b": float("nan"), "c": [1e-9]})
    assert mf.nb.load_results("r") == {"a": 0.3333333, "b": None, "c": [1e-9]}
    with pytest.raises(FileNotFoundError, match="missing"):
        mf.nb.load_results("nope")


def test_strip_metadata():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nb.metadata["papermill"] = {"start_time": "x"}
    nb.cells[0].metadata["papermill"] = {"start_time": "a", "end_time": "b", "duration": 1.0, "status": "completed",
                                         "exception": False}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "t"}
    strip_metadata(nb)
    assert "papermill" not in nb.metadata and nb.cells[0].metadata == {}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_structure(path):
    text = path.read_text()
    assert '"start_time"' not in text and '"duration"' not in text
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "quick = False" in tagged[0].source
    assert "import mfcredit as mf" in "".join(c.source for c in nb.cells)
    src = ROOT / "notebooks" / "src" / (path.stem + ".py")
    assert src.is_file()
    sys.path.insert(0, str(ROOT / "tools"))
    import py2nb
    built = py2nb.convert(src)
    assert [c.source for c in built.cells] == [c.source for c in nb.cells if "injected-parameters" not in
                                               c.metadata.get("tags", [])], "notebook differs from its source"


def test_one_repository_root():
    assert mf.nb.REPO == mf.utils.REPO and (mf.utils.REPO / "mfcredit" / "__init__.py").is_file()


def test_every_notebook_present():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


# ---------------------------------------------------------------- properties (hypothesis)

#: 300 examples per property, the same ones on every run (derandomize): CI is reproducible.
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@SETTINGS
@given(st.one_of(st.booleans(), st.integers(-2, 3), st.text(max_size=6), st.none(), st.floats(),
                 st.sampled_from(["false", "False", " TRUE ", "yes", "no", "0", "1", "", "maybe"])))
def test_notebook_quick_flag(value):
    truthy = value is True or (_int(value) and value == 1) or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))
    falsy = value is False or (_int(value) and value == 0) or (isinstance(value, str) and value.strip().lower() in ("false", "0", "no", ""))
    if truthy or falsy:
        assert mf.nb._as_bool("quick", value) is bool(truthy)
    else:
        with pytest.raises(ValueError, match="'quick'"):
            mf.nb._as_bool("quick", value)


@SETTINGS
@given(st.one_of(st.integers(-10, 10), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3), st.none()),
       st.sampled_from([int, float]))
def test_notebook_param(value, kind):
    if kind is int:
        ok = _int(value) and 1 <= value <= 5
    else:
        ok = _num(value) and 0 <= value <= 1
    lo, hi = (1, 5) if kind is int else (0, 1)
    if ok:
        assert mf.nb.param("n", value, kind, lo, hi) == value
    else:
        with pytest.raises(ValueError, match="'n'"):
            mf.nb.param("n", value, kind, lo, hi)
