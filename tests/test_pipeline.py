"""The figure pipeline (what `make figures` runs) killed with SIGKILL at random points, then rerun."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mfcredit as mf

REPO = mf.utils.REPO


def _junk(folder: Path):
    """Hidden temporaries (partial writes) anywhere under ``folder``."""
    return [p for p in folder.rglob(".*") if p.name not in (".ipynb_checkpoints",)]


def _pipeline(out: Path, env_extra=None):
    env = {**os.environ, "MFCREDIT_OUTPUT": str(out), "MFCREDIT_CACHE": str(out / "cache"), "MFCREDIT_QUICK": "1",
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "MFCREDIT_THREADS": "1"}
    cmd = [sys.executable, "-m", "mfcredit.pipeline", "--quick", "1", str(REPO / "notebooks" / "02-training.ipynb")]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _outputs(out: Path) -> dict:
    """Figure files as bytes; result files as parsed JSON without the measured wall times (the only
    thing a resumed run legitimately changes: it spent its time differently)."""
    found = {}
    for p in sorted((out / "figures" / "quick").glob("*")) + sorted((out / "results" / "quick").glob("*.json")):
        if p.name.startswith("."):
            continue
        if p.suffix == ".json":
            found[p.relative_to(out).as_posix()] = {k: v for k, v in json.loads(p.read_text()).items() if k != "epoch_s"}
        else:
            found[p.relative_to(out).as_posix()] = p.read_bytes()
    return found


@pytest.mark.skipif(not (REPO / "notebooks" / "02-training.ipynb").exists(), reason="notebooks not built")
def test_sigkill_during_make_figures_then_rerun_gives_identical_files(tmp_path):
    """The figure pipeline (what `make figures` runs) killed with its kernel at random moments, then
    rerun: every figure file is byte-identical to an uninterrupted run's, every result equal (wall
    times aside), and nothing half-written is left."""
    ref = tmp_path / "ref"
    assert _pipeline(ref).wait(timeout=600) == 0
    expected = _outputs(ref)
    assert any(k.endswith(".png") for k in expected) and any(k.endswith(".json") for k in expected)
    out = tmp_path / "killed"
    rng = random.Random(7)
    for _ in range(3):
        proc = _pipeline(out)
        time.sleep(rng.uniform(2.0, 10.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the pipeline and its kernel
        proc.wait()
        for name, blob in _outputs(out).items():  # whatever is in place is complete
            assert blob == expected[name], f"{name} differs after a kill"
    assert _pipeline(out).wait(timeout=600) == 0
    assert _outputs(out) == expected
    assert not _junk(out / "figures") and not _junk(out / "results") and not _junk(out / "cache")
