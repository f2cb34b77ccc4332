"""The trained runs shipped in data/runs: complete, checksummed, small, served by the cache, and
reproduced by retraining (bit for bit on the platform they were trained on)."""
import dataclasses
import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

import mfcredit as mf
from mfcredit import cache, shipped
from mfcredit.runs import RunFileError

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_run_is_there_listed_and_intact():
    sums = shipped.checksums()
    names = {shipped.name(cfg, seed) for cfg, seed in shipped.jobs()}
    assert len(names) == 3 * shipped.N_SEEDS + 4  # three recipes' seeds, and notebook 2's four exercise runs
    assert set(sums) == names, "data/runs/SHA256SUMS must list exactly the shipped runs"
    assert {p.name for p in shipped.FOLDER.glob("*.npz")} == names, "unlisted or missing files in data/runs"
    for fname, digest in sums.items():
        assert hashlib.sha256((shipped.FOLDER / fname).read_bytes()).hexdigest() == digest, fname
    total = sum((shipped.FOLDER / f).stat().st_size for f in names)
    assert total <= 25e6, f"shipped runs take {total / 1e6:.1f} MB, more than 25 MB"


def test_shipped_runs_load_with_their_config_and_numbers():
    for cfg, seed in shipped.jobs():
        run = shipped.load(cfg, seed)
        assert run.config == cfg and run.seed == seed
        assert all(len(v) == cfg.epochs for v in run.metrics.values())  # one entry per epoch
        net = run.network()  # shapes checked against the config
        assert sum(p.numel() for p in net.parameters()) == (1 if cfg.model == "bp" else 3) * (784 * 100 + 100 * 100 + 100 * 10)
        assert 0 < run.final("sampled") < (10 if cfg.epochs >= 100 else 40)  # the exercises' runs are short


def _tiny_run():
    """A run trained here in a fraction of a second (synthetic data, one epoch): every machine has it."""
    g = mf.generator(11)
    data = mf.Data(torch.rand(60, 784, generator=g), torch.randint(0, 10, (60,), generator=g),
                   torch.rand(40, 784, generator=g), torch.randint(0, 10, (40,), generator=g))
    cfg = mf.TrainConfig(widths=(784, 12, 10), n_train=60, batch_size=30, epochs=2)
    return mf.train(cfg, seed=3, data=data, progress=False, threads=1)


def _json(metrics: dict) -> str:
    """Metrics as text: NaN (an epoch not evaluated) equals NaN here, as it does in the archive."""
    return json.dumps(metrics, sort_keys=True)


def test_archive_bytes_depend_only_on_the_numbers(tmp_path):
    """Two trainings of the same run (equal numbers, other wall times) and a copy with every volatile
    info key changed encode to the same bytes; one parameter element or one metric moved by one ulp
    gives other bytes; and bytes -> load -> bytes is the identity. Nothing here is compared with the
    committed files, so it bites on every machine."""
    run, again = _tiny_run(), _tiny_run()
    assert all(torch.equal(a, b) for k in run.params for a, b in zip(run.params[k], again.params[k]))
    assert _json(run.metrics) == _json(again.metrics) and run.info["wall_s"] != again.info["wall_s"]
    blob = shipped.to_bytes(run)
    assert shipped.to_bytes(again) == blob
    volatile = dataclasses.replace(run, info={**run.info, "wall_s": 1e9, "epoch_s": -1.0, "resumed_from_epoch": 1})
    assert shipped.to_bytes(volatile) == blob

    for key in ("pi", "m", "xi"):  # one element of one tensor, one ulp up
        params = {k: [t.clone() for t in ts] for k, ts in run.params.items()}
        t = params[key][1].view(-1)
        t[7] = torch.nextafter(t[7], torch.tensor(float("inf")))
        assert shipped.to_bytes(dataclasses.replace(run, params=params)) != blob, key
    metrics = {k: list(v) for k, v in run.metrics.items()}
    metrics["train_loss"][0] = math.nextafter(metrics["train_loss"][0], math.inf)
    assert shipped.to_bytes(dataclasses.replace(run, metrics=metrics)) != blob
    assert shipped.to_bytes(dataclasses.replace(run, seed=run.seed + 1)) != blob

    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / shipped.name(run.config, run.seed)).write_bytes(blob)
    (folder / "SHA256SUMS").write_text(f"{hashlib.sha256(blob).hexdigest()}  {shipped.name(run.config, run.seed)}\n")
    loaded = shipped.load(run.config, run.seed, folder)
    assert _json(loaded.metrics) == _json(run.metrics) and loaded.info["platform"] == shipped.platform_id()
    assert not set(shipped.VOLATILE) & set(loaded.info)
    assert all(torch.equal(a, b) for k in run.params for a, b in zip(run.params[k], loaded.params[k]))
    assert shipped.to_bytes(loaded) == blob


def test_damaged_or_unlisted_file_is_refused(tmp_path):
    cfg, seed = shipped.jobs()[0]
    folder = tmp_path / "runs"
    shutil.copytree(shipped.FOLDER, folder)
    path = folder / shipped.name(cfg, seed)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(RunFileError, match=f"{path.name}: SHA-256 does not match"):
        shipped.load(cfg, seed, folder)
    (folder / "SHA256SUMS").write_text("")
    with pytest.raises(RunFileError, match="not listed"):
        shipped.load(cfg, seed, folder)
    assert shipped.load(cfg.replace(epochs=7), seed, folder) is None  # not shipped: None


def test_rewriting_drops_runs_no_longer_shipped(tmp_path):
    cfg, seed = shipped.jobs()[0]
    run = shipped.load(cfg, seed)
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "gbp-0123456789abcdef.npz").write_bytes(b"a run keyed by an earlier cache version")
    (folder / "SHA256SUMS").write_text(f"{'0' * 64}  gbp-0123456789abcdef.npz\n")
    shipped.write([run], folder)
    assert {p.name for p in folder.glob("*.npz")} == set(shipped.checksums(folder)) == {shipped.name(cfg, seed)}
    assert shipped.load(cfg, seed, folder).metrics == run.metrics


def test_cache_serves_shipped_runs_unless_disabled(tmp_path, monkeypatch):
    cfg, seed = shipped.jobs()[shipped.N_SEEDS]  # a standard-BP run
    run = cache.load_cached(cfg, seed, shipped.THREADS, cache_dir=tmp_path)
    assert run is not None and torch.equal(run.params["w"][0], shipped.load(cfg, seed).params["w"][0])
    assert cache.load_cached(cfg, seed, 2, cache_dir=tmp_path) is None  # other thread count: other numbers
    monkeypatch.setenv("MFCREDIT_SHIPPED", "0")
    assert cache.load_cached(cfg, seed, shipped.THREADS, cache_dir=tmp_path) is None


def test_retraining_a_shipped_run_reproduces_it(tmp_path, monkeypatch):
    """The standard-BP run of seed 0 (the cheapest shipped run), retrained from scratch, bit for bit,
    on the platform that wrote it. Elsewhere the last bits differ: tests/test_reference.py checks
    the first epochs of both models against a committed reference on every machine instead."""
    monkeypatch.setenv("MFCREDIT_SHIPPED", "0")
    cfg, seed = shipped.jobs()[shipped.N_SEEDS]
    ref = shipped.load(cfg, seed)
    if ref.info["platform"] != shipped.platform_id():
        pytest.skip(f"the shipped runs were written on {ref.info['platform']}, this is {shipped.platform_id()}: "
                    "bit-for-bit holds there only (tests/test_reference.py checks every machine)")
    new = cache.cached_train(cfg, seed, cache_dir=tmp_path, threads=shipped.THREADS, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(new.params["w"], ref.params["w"]))
    assert new.metrics == ref.metrics


@pytest.mark.parametrize("name", ["02-training", "03-weights"])
def test_notebooks_rerun_at_paper_scale_on_the_shipped_runs_alone(name, tmp_path, monkeypatch):
    """What a reader of a fresh clone (or Binder at paper scale) gets: the notebook, at paper scale,
    in an empty cache, runs to the end on data/runs alone. It never trains: a single paper run takes
    longer than the cell timeout, and no run lands in the cache."""
    papermill = pytest.importorskip("papermill")
    nb = ROOT / "notebooks" / f"{name}.ipynb"
    if not nb.exists():
        pytest.skip(f"{nb} not built")
    cache_dir = tmp_path / "cache"
    for key, value in {"MFCREDIT_OUTPUT": tmp_path / "out", "MFCREDIT_CACHE": cache_dir, "MFCREDIT_QUICK": "0",
                       "MFCREDIT_SHIPPED": "1", "MFCREDIT_PROGRESS": "0",
                       "MPLBACKEND": "module://matplotlib_inline.backend_inline"}.items():
        monkeypatch.setenv(key, str(value))
    papermill.execute_notebook(str(nb), str(tmp_path / f"{name}.ipynb"), kernel_name="python3", progress_bar=False,
                               execution_timeout=60, cwd=str(ROOT / "notebooks"))
    assert sorted((tmp_path / "out" / "results").glob("*.json")), "the notebook wrote no result"
    assert not cache.entries(cache_dir), "a run was trained instead of loaded from data/runs"
