"""Notebook plumbing: parameters and quick mode, figures saved and shown, metadata stripping, and
the committed notebooks as a reader meets them (figures inline, one parameters cell, short cells,
links that resolve, the same cells as their sources)."""
import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import jupytext  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from conftest import SETTINGS, is_int, is_num  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import mfcredit as mf  # noqa: E402
from mfcredit.pipeline import check_parameters, strip_metadata  # noqa: E402

ROOT = Path(mf.nb.REPO)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if p.name[:2] in ("01", "02", "03", "04", "05", "06", "07", "08")]


def ns(**values):
    """A notebook namespace whose parameters cell declared ``values``."""
    return {"__annotations__": {k: type(v) for k, v in values.items()}, **values}


@pytest.mark.parametrize("value,expected", [(True, True), (False, False), ("false", False), ("False", False),
                                            ("true", True), ("1", True), ("0", False), (0, False)])
def test_quick_flag_parsing(value, expected, monkeypatch):
    monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    assert mf.nb.apply_params(ns(quick=value)) is expected


def test_quick_flag_rejects_garbage_and_env_forces_quick(monkeypatch):
    monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    with pytest.raises(ValueError, match="'quick'"):
        mf.nb.apply_params(ns(quick="maybe"))
    monkeypatch.setenv("MFCREDIT_QUICK", "1")
    assert mf.nb.apply_params(ns(quick=False)) is True
    monkeypatch.setenv("MFCREDIT_QUICK", "0")
    assert mf.nb.apply_params(ns(quick=False)) is False


def test_quick_mode_replaces_declared_parameters_only(monkeypatch):
    monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    space = ns(quick=True, epochs=200, tol=1e-6)
    space["other"] = 7  # not a parameter: untouched
    mf.nb.apply_params(space)
    assert space["epochs"] == mf.nb.PARAMS["epochs"].quick and space["tol"] == 1e-6 and space["other"] == 7
    paper = ns(quick=False, epochs=200)
    mf.nb.apply_params(paper)
    assert paper["epochs"] == 200


@pytest.mark.parametrize("values,match", [({"epochs": 0}, "'epochs'.*\\[1"), ({"epochs": 2.0}, "'epochs'.*integer"),
                                          ({"tol": float("nan")}, "'tol'.*finite"), ({"tol": 2.0}, "'tol'"),
                                          ({"n_seeds": True}, "'n_seeds'.*integer"), ({"sizes": []}, "'sizes'"),
                                          ({"sizes": [10, 0]}, "'sizes\\[1\\]'"), ({"epoch": 3}, "unknown.*'epoch'")])
def test_bad_parameters_are_named(values, match, monkeypatch):
    monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    with pytest.raises(ValueError, match=match):
        mf.nb.apply_params(ns(quick=False, **values))


def test_pipeline_refuses_unknown_parameters(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("quick: bool = False\nepochs: int = 3")],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})  # papermill 2.7 needs it
    nb.cells[0].metadata["tags"] = ["parameters"]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    check_parameters(path, {"quick": True, "epochs": 2})
    with pytest.raises(ValueError, match="n.ipynb.*'epocs'"):
        check_parameters(path, {"epocs": 2})
    with pytest.raises(ValueError, match="'epochs'"):
        check_parameters(path, {"epochs": 0})


def test_figures_are_byte_identical_and_results_round(tmp_path, monkeypatch):
    monkeypatch.setattr(mf.nb, "ROOT", tmp_path)
    monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    mf.nb.apply_params(ns(quick=False))
    shown = []
    monkeypatch.setattr(mf.nb, "show_png", shown.append)
    blobs = []
    for _ in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 2])
        mf.nb.save_figure(fig, "f")
        assert not plt.fignum_exists(fig.number)  # closed: the inline backend will not draw it twice
        blobs.append({e: (tmp_path / "figures" / f"f.{e}").read_bytes() for e in ("png", "pdf")})
    assert blobs[0] == blobs[1] and shown == [blobs[0]["png"], blobs[1]["png"]]
    assert b"CreationDate" not in blobs[0]["pdf"] and b"Matplotlib" not in blobs[0]["png"]
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["f.pdf", "f.png"]  # no temp files left
    mf.nb.save_results("r", {"a": 1 / 3, "b": float("nan"), "c": [1e-9]})
    assert mf.nb.load_results("r") == {"a": 0.3333333, "b": None, "c": [1e-9]}
    with pytest.raises(FileNotFoundError, match="missing"):
        mf.nb.load_results("nope")


def test_strip_metadata():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("quick = True")])
    nb.metadata["papermill"] = {"start_time": "x"}
    nb.cells[0].metadata["papermill"] = {"start_time": "a", "end_time": "b", "duration": 1.0, "status": "completed",
                                         "exception": False}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "t"}
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", {"text/plain": "w", mf.pipeline.WIDGET: {}}),
                           nbformat.v4.new_output("stream", text="kept")]
    nb.cells[1].metadata["tags"] = ["injected-parameters"]
    strip_metadata(nb, drop_injected=True)
    assert "papermill" not in nb.metadata and nb.cells[0].metadata == {} and len(nb.cells) == 1
    assert [o["output_type"] for o in nb.cells[0].outputs] == ["stream"]


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_structure(path):
    text = path.read_text()
    assert '"start_time"' not in text and '"duration"' not in text and "injected-parameters" not in text
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and nb.cells[tagged[0]].source.startswith("quick: bool = False")
    assert "mf.nb.setup(globals())" in nb.cells[tagged[0] + 1].source  # one setup call right after it
    long = [c.source.splitlines()[0] for c in code_cells(path) if len(c.source.splitlines()) > 25]
    assert not long, f"cells over 25 lines: {long}"
    src = jupytext.read(ROOT / "notebooks" / "src" / (path.stem + ".py"))
    assert [c.source for c in src.cells] == [c.source for c in nb.cells], "notebook differs from its source"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_saved_figure_is_shown_inline(path):
    """Each cell that saves figures/<name> shows that very PNG in its committed output."""
    saving = 0
    for cell in code_cells(path):
        names = re.findall(r"save_figure\(fig, \"([^\"]+)\"\)", cell.source)
        shown = [base64.b64decode(o["data"]["image/png"]) for o in cell.outputs if "image/png" in o.get("data", {})]
        for name in names:
            saving += 1
            assert (ROOT / "figures" / f"{name}.png").read_bytes() in shown, f"{path.name}: {name} not shown"
    assert saving == path.read_text().count("save_figure(")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapters_open_with_a_question_and_close_with_what_we_learned(path):
    nb = nbformat.read(path, as_version=4)
    assert "**The question.**" in nb.cells[0].source and "**Why it matters.**" in nb.cells[0].source
    heads = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source]
    assert "## What we learned" in heads and "## Try it" in heads
    learned = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## What we learned"))
    outputs = nb.cells[learned + 1].outputs
    assert any("text/markdown" in o.get("data", {}) for o in outputs), "What we learned is not computed"
    assert nb.cells[-1].source == "mf.nb.versions()" and "torch" in nb.cells[-1].outputs[0]["text"]


def test_every_notebook_present():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(10)]
    assert (ROOT / "docs" / "glossary.md").is_file()


def reader_files():
    files = [ROOT / "README.md", *NOTEBOOKS, *(ROOT / "docs").glob("*.md")]
    return [f for f in files if f.suffix in (".md", ".ipynb")]


@pytest.mark.parametrize("path", reader_files(), ids=lambda p: p.name)
def test_links_resolve_inside_the_repository(path):
    text = path.read_text()
    if path.suffix == ".ipynb":
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [l.split("#")[0] for l in links if not re.match(r"https?://|mailto:", l) and l.split("#")[0]]
    missing = [l for l in local if not (path.parent / l).exists()]
    assert not missing, f"{path.name} links to missing files: {missing}"


def test_no_tracked_text_cites_a_file_outside_the_repository():
    skip = {".git", ".venv", "cache", "build", "__pycache__", ".hypothesis", "data"}
    hits = [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
            and p.suffix in (".py", ".md", ".ipynb", ".json", ".txt", ".yml", ".cff", "")
            and "paper" + ".md" in p.read_text(errors="ignore")]
    assert not hits, hits


def test_one_repository_root():
    assert mf.nb.REPO == mf.utils.REPO and (mf.utils.REPO / "mfcredit" / "__init__.py").is_file()


# ---------------------------------------------------------------- properties (hypothesis)



@SETTINGS
@given(st.one_of(st.booleans(), st.integers(-2, 3), st.text(max_size=6), st.none(), st.floats(),
                 st.sampled_from(["false", "False", " TRUE ", "yes", "no", "0", "1", "", "maybe"])))
def test_notebook_quick_flag(value):
    truthy = value is True or (is_int(value) and value == 1) or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))
    falsy = value is False or (is_int(value) and value == 0) or (isinstance(value, str) and value.strip().lower() in ("false", "0", "no", ""))
    if truthy or falsy:
        assert mf.nb.as_bool("quick", value) is bool(truthy)
    else:
        with pytest.raises(ValueError, match="'quick'"):
            mf.nb.as_bool("quick", value)


@SETTINGS
@given(st.one_of(st.integers(-10, 10), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3), st.none()),
       st.sampled_from([int, float]))
def test_notebook_param(value, kind):
    if kind is int:
        ok = is_int(value) and 1 <= value <= 5
    else:
        ok = is_num(value) and 0 <= value <= 1
    lo, hi = (1, 5) if kind is int else (0, 1)
    if ok:
        assert mf.nb.Param(kind, lo, hi).check("n", value) == value
    else:
        with pytest.raises(ValueError, match="'n'"):
            mf.nb.Param(kind, lo, hi).check("n", value)


def test_float_list_parameter():
    rule = mf.nb.Param(list, 1e-6, 1.0, item=float)
    assert rule.check("lrs", [0.1, 1]) == [0.1, 1.0] and all(isinstance(v, float) for v in rule.check("lrs", [1]))
    for bad in ([], [0.1, 2.0], [True], [float("nan")], ["0.1"], 0.1):
        with pytest.raises(ValueError, match="lrs"):
            rule.check("lrs", bad)
    assert mf.nb.Param(list, 1).check("sizes", [3]) == [3]  # integer lists as before


def test_over_seeds_leaves_out_missing_points():
    """Mean and sd over seeds per curve point, by hand: a point one seed lacks (NaN) uses the others."""
    nan = float("nan")
    got = mf.stats.over_seeds([[1.0, 2.0, nan], [3.0, 6.0, 5.0], [5.0, 10.0, 7.0]])
    assert got["mean"] == [3.0, 6.0, 6.0]
    assert got["sd"] == [2.0, 4.0, pytest.approx(2 ** 0.5)]
    one = mf.stats.over_seeds([[4.0, 8.0]])  # a single seed: its values, sd 0
    assert one == {"mean": [4.0, 8.0], "sd": [0.0, 0.0]}
    assert mf.stats.over_seeds([2.0, 4.0]) == {"mean": 3.0, "sd": pytest.approx(2 ** 0.5)}


FIGURE_SCRIPT = """\
import matplotlib.pyplot as plt
import mfcredit as mf
mf.nb.setup({"__annotations__": {}})   # the notebooks' style
for name, last in (("f", 1.0), ("g", 1.5)):   # g: one point moved
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1, 2, 3], [1.0, 0.0, 2.0, last], marker="o", label="error ± sd, μ = (1 − π) m")
    ax.set(xlabel="epoch", ylabel="test error (%)", title="Δ and ξ")
    ax.legend()
    mf.nb.save_figure(fig, name)
"""


def test_figures_are_byte_identical_across_processes(tmp_path):
    """The same figure script in two Python processes at once, with other hash seeds (other set and
    dict orders inside matplotlib) and other time zones (a date written into a file would differ even
    within the same second), each writing to its own output folder: each PNG and PDF is the same
    bytes in both; the figure with one point moved gives other bytes."""
    procs = {}
    for name, hashseed, tz in (("a", "1", "UTC"), ("b", "2", "Asia/Tokyo")):
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}  # it would fix any date
        env.update(MFCREDIT_OUTPUT=str(tmp_path / name), MPLBACKEND="Agg", PYTHONHASHSEED=hashseed, TZ=tz,
                   MFCREDIT_QUICK="0",  # and the package this process tests, wherever it is installed from
                   PYTHONPATH=os.pathsep.join([str(mf.utils.REPO), os.environ.get("PYTHONPATH", "")]))
        procs[name] = subprocess.Popen([sys.executable, "-c", FIGURE_SCRIPT], env=env, cwd=tmp_path,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    files = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        folder = tmp_path / name / "figures"
        assert sorted(p.name for p in folder.iterdir()) == ["f.pdf", "f.png", "g.pdf", "g.png"]
        files[name] = {p.name: p.read_bytes() for p in folder.iterdir()}
    for fname in files["a"]:
        assert files["a"][fname] == files["b"][fname], f"{fname} differs between two processes"
    for ext in ("png", "pdf"):
        assert files["a"][f"f.{ext}"] != files["a"][f"g.{ext}"], f"{ext}: a different figure gave the same bytes"


def test_notebooks_carry_no_nbval_comments_only_cell_tags():
    """nbval reads cell tags (nbval-check-output, ...): no marker comment is left for a reader to see."""
    texts = {p.name: p.read_text() for p in [*NOTEBOOKS, *(ROOT / "notebooks" / "src").glob("*.py")]}
    assert not [name for name, text in texts.items() if "NBVAL_" in text]
    tagged = [p.name for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells
              if "nbval-check-output" in c.metadata.get("tags", [])]
    assert tagged, "no cell is checked by nbval"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_text_assembling_and_saving_cells_are_collapsed(path):
    """A cell that only assembles text ("What we learned", a table of answers) or saves results shows its
    output, with its code folded: collapsed in JupyterLab and behind a toggle on the site."""
    for c in nbformat.read(path, as_version=4).cells:
        if c.cell_type == "code" and ("show_markdown(" in c.source or "save_results(" in c.source):
            assert "hide-input" in c.metadata.get("tags", []), c.source.splitlines()[0]
            assert c.metadata.get("jupyter", {}).get("source_hidden") is True, c.source.splitlines()[0]


def test_kernel_memory_settings_on_glibc():
    """The C-library settings nb.setup applies (mmap threshold, two malloc arenas, a trim after every
    cell) take effect on glibc, and are refused cleanly elsewhere."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        assert mf.utils.return_freed_memory() is False and mf.utils.trim_heap() is False
        return
    assert mf.utils.return_freed_memory() is True and mf.utils.trim_heap() is True


def test_table_cells_keep_their_bars():
    assert mf.nb.table_row("BP |w|", 3) == "| BP \\|w\\| | 3 |"
    header = "| a | b |"
    assert len(re.split(r"(?<!\\)\|", mf.nb.table_row("x |(1 - pi) m|", "|w|"))) == len(header.split("|"))


@pytest.mark.parametrize("path", ["README.md", "results/claims.md", "results/beyond.md", "results/planted.md"])
def test_every_table_row_has_its_header_s_cells(path):
    """A | inside a cell (|w|) not escaped would split it: GitHub drops what is past the header's columns."""
    cells = None
    for line in (ROOT / path).read_text().splitlines() + [""]:
        if not line.startswith("|"):
            cells = None
            continue
        n = len(re.split(r"(?<!\\)\|", line))
        cells = n if cells is None else cells
        assert n == cells, f"{path}: {line[:80]}... has {n - 2} cells, its table's header {cells - 2}"
