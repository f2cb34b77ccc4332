"""The three install files agree: requirements.txt (make venv), binder/environment.yml (Binder) and
environment.yml (conda) pin the same packages at the same versions, on every platform, and their
Python satisfies requires-python in pyproject.toml, the one place the minimum is stated."""
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

#: Left out of binder/environment.yml on purpose: repo2docker installs that file into the environment
#: that runs JupyterLab, whose own jupyterlab (and extensions) a pin would fight.
BINDER_ALLOWED_MISSING = {"jupyterlab"}

#: sys_platform values the pins are compared on (markers select torch's build per platform).
PLATFORMS = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}


def pins(lines, platform):
    """{name: specifier} of the requirement lines that apply on ``platform``; options (--extra-index-url)
    and local lines (-e .) are not pins and are skipped. Every requirement must be an exact == pin."""
    out = {}
    env = {"sys_platform": platform, "platform_system": PLATFORMS[platform]}
    for line in lines:
        line = re.sub(r"\s+#.*", "", line).strip()
        if not line or line.startswith(("#", "-")):
            continue
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        assert str(req.specifier).startswith("=="), f"{line!r} is not an exact pin (==)"
        name = canonicalize_name(req.name)
        assert name not in out, f"{req.name} is pinned twice for {platform}"
        out[name] = str(req.specifier)
    return out


def requirements_txt():
    return (ROOT / "requirements.txt").read_text().splitlines()


def conda_env(path):
    """(conda dependencies, pip lines) of an environment.yml."""
    env = yaml.safe_load(path.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [line for d in env["dependencies"] if isinstance(d, dict) for line in d.get("pip", [])]
    return conda, pip


def differences(expected, got, allowed_missing=()):
    """Readable lines naming every package whose pin differs, is missing or is extra."""
    lines = []
    for name, pin in sorted(expected.items()):
        if name not in got and name not in allowed_missing:
            lines.append(f"{name}: missing (requirements.txt has {pin})")
        elif name in got and got[name] != pin:
            lines.append(f"{name}: {got[name]} here, {pin} in requirements.txt")
    lines += [f"{n}: {v} here, not in requirements.txt" for n, v in sorted(got.items()) if n not in expected]
    return lines


def test_differences_name_each_package():
    diff = differences({"torch": "==2.13.0+cpu", "numpy": "==2.4.6", "jupyterlab": "==4.6.6"},
                       {"torch": "==2.13.0", "dask": "==1"}, allowed_missing={"jupyterlab"})
    assert diff == ["numpy: missing (requirements.txt has ==2.4.6)",
                    "torch: ==2.13.0 here, ==2.13.0+cpu in requirements.txt",
                    "dask: ==1 here, not in requirements.txt"]


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_conda_environment_pins_equal_requirements(platform):
    want = pins(requirements_txt(), platform)
    got = pins(conda_env(ROOT / "environment.yml")[1], platform)
    assert not differences(want, got), "environment.yml: " + "; ".join(differences(want, got))


def test_binder_environment_pins_equal_requirements():
    want = pins(requirements_txt(), "linux")                  # Binder is Linux
    got = pins(conda_env(ROOT / "binder" / "environment.yml")[1], "linux")
    diff = differences(want, got, BINDER_ALLOWED_MISSING)
    assert not diff, "binder/environment.yml: " + "; ".join(diff)
    assert not BINDER_ALLOWED_MISSING & set(got), "binder/environment.yml pins jupyterlab: leave it out"


def test_binder_environment_has_no_local_lines():
    """A local line (-e ., a path) makes repo2docker copy the whole repository before the environment
    is built, so every commit rebuilds it; the package is installed by binder/postBuild instead."""
    _, pip = conda_env(ROOT / "binder" / "environment.yml")
    local = [l for l in pip if l.startswith(("-e", "--editable", ".", "/", "file:")) or "-r " in l]
    assert not local, f"binder/environment.yml has local pip lines {local}"


def test_linux_installs_the_cpu_torch_and_elsewhere_pypis_build():
    assert pins(requirements_txt(), "linux")["torch"].endswith("+cpu")
    assert "+" not in pins(requirements_txt(), "darwin")["torch"]


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_conda_python_meets_requires_python(path):
    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    conda, pip = conda_env(ROOT / path)
    pythons = [re.fullmatch(r"python\s*=+\s*([\d.]+)", d.split("#")[0].strip()) for d in conda]
    versions = [m.group(1) for m in pythons if m]
    assert versions and all(v in requires for v in versions), f"{path}: python {versions}, needs {requires}"
    assert any("download.pytorch.org/whl/cpu" in l for l in pip), f"{path}: no PyTorch CPU index line"


def test_binder_scripts_are_executable_and_start_in_quick_mode():
    start = ROOT / "binder" / "start"
    post = ROOT / "binder" / "postBuild"
    assert start.stat().st_mode & 0o111 and post.stat().st_mode & 0o111
    env = subprocess.run([str(start), "env"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert "MFCREDIT_QUICK=1" in env and "MFCREDIT_JOBS=1" in env  # quick mode, one training worker
    assert "pip install --no-deps -e ." in post.read_text()
