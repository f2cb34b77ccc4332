"""Every way of reading, checked in a real browser (headless Chromium driven by Playwright).

JupyterLab, started from the project's environment on a loopback port: each numbered notebook opens,
shows every figure of its committed outputs and starts the project's kernel; in notebook 1 a new code
cell is typed and run in it. The
HTML site (``make site``, served from loopback): every page shows its figures, typesets its math with
the MathJax inside the site (no CDN) and has no broken local link.

The system's Chromium is used (Playwright cannot download its own here); without one every test is
skipped, saying how to install it. ``make browser`` builds the site first; run alone, the test builds
it when it is missing.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
SITE = ROOT / "build" / "site"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# every test is collected and, without Chromium, skipped with this reason: pytest then exits 0 and
# ``make test`` passes (a module skipped as a whole collects nothing, which pytest reports as a failure)
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM, reason="no Chromium found: install it (Debian: apt-get install "
                                 "chromium) or set CHROMIUM=/path to run the browser tests")]

#: Chromium flags for a closed network: no background requests, no first-run or sync services.
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: The only images the site may load from elsewhere (the README's Binder badge, shown online only).
EXTERNAL_IMAGES = {"https://mybinder.org/badge_logo.svg"}
#: JupyterLab settings for the test: never write the notebooks (no autosave), render every cell at
#: once (no windowing: off-screen outputs exist in the page), no news or update checks (offline).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}  # no news settings here: the environment's own overrides (binder/overrides.json, make venv) must silence it
TIMEOUT_MS = 60_000
#: The notebook in which a new cell is typed and run (in the others, the kernel's start is checked).
KERNEL_CHECKED = next((p for p in NOTEBOOKS if p.name.startswith("01-")), None)


def image_outputs(path: Path) -> int:
    """How many PNG figures the committed notebook shows in its outputs."""
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_naming(text: str) -> list[int]:
    """Pids of processes whose command line contains ``text`` (here: the test's own temp folder)."""
    pids = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if text in (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.append(int(d.name))
        except OSError:
            pass
    return pids


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group ``proc`` leads (the server and anything it started in it), then
    SIGKILL what is still there after 20 s."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab from this environment on a free loopback port, with a token, its settings, runtime
    files and workspaces in a temp folder. Teardown shuts its kernels down, stops the server's whole
    process group and fails if any process of it is left."""
    home = tmp_path_factory.mktemp("jupyter")
    for name, value in LAB_SETTINGS.items():
        (home / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "settings" / name).write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    env.pop("MFCREDIT_QUICK", None)
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={ROOT / 'notebooks'}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def api(method: str, path: str):
        req = urllib.request.Request(f"{url}/api/{path}", method=method,
                                     headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{(home / 'lab.log').read_text()[-3000:]}")
            try:
                api("GET", "status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in 120 s:\n{(home / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield {"url": url, "token": token, "api": api, "log": home / "lab.log"}
    finally:
        try:
            for kernel in api("GET", "kernels"):
                api("DELETE", f"kernels/{kernel['id']}")
        except (urllib.error.URLError, ConnectionError):
            pass
        stop_group(proc)
        log.close()
        left = processes_naming(str(home))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"JupyterLab left processes behind: {left}"


@pytest.fixture(scope="module")
def site():
    """The built site served on a free loopback port (built first when build/site is missing)."""
    if not (SITE / "index.html").is_file():
        subprocess.run(["make", "site"], cwd=ROOT, check=True)
    handler = functools.partial(Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def committed():
    """The notebooks' bytes before the browser touches them; after the module they must be the same."""
    before = {p: p.read_bytes() for p in NOTEBOOKS}
    yield
    changed = [p.name for p, b in before.items() if p.read_bytes() != b]
    assert not changed, f"opening the notebooks in JupyterLab changed {changed}"


# ------------------------------------------------------------------------------------- JupyterLab


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_in_jupyterlab(path, browser, lab, committed):
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        # ?reset: a fresh workspace, so the page holds this notebook alone
        page.goto(f"{lab['url']}/lab/tree/{path.name}?reset&token={lab['token']}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        assert page.locator(".jp-NotebookPanel").count() == 1
        figures = image_outputs(path)
        shown = "[...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output img')]"
        try:
            page.wait_for_function(
                f"n => {{ const imgs = {shown}; return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth > 0); }}",
                arg=figures)
        except PlaywrightTimeout:
            seen = page.evaluate(f"() => {shown}.map(i => i.naturalWidth)")
            pytest.fail(f"{path.name}: {figures} figures in the notebook; JupyterLab shows {len(seen)} "
                        f"images, natural widths {seen}")
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()      # the project's kernel has started
        # by now JupyterLab would have asked whether to fetch its news (make venv's overrides say no)
        assert page.get_by_text("official Jupyter news").count() == 0, "JupyterLab shows its news prompt"
        if path != KERNEL_CHECKED:
            return  # every notebook starts the same kernel (its name is checked above): one runs a cell
        # a new cell below the first one, typed and run as a reader would
        page.locator(".jp-NotebookPanel .jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        page.keyboard.press("Enter")
        page.keyboard.type("import sys, mfcredit; print('kernel-ok', sum(range(7)) * 6, sys.prefix, mfcredit.__file__)")
        page.keyboard.press("Shift+Enter")
        out = page.locator(".jp-NotebookPanel .jp-OutputArea-output", has_text="kernel-ok")
        out.wait_for()
        words = out.inner_text().split()
        assert words[:2] == ["kernel-ok", "126"], words
        assert Path(words[2]) == Path(sys.prefix), f"the kernel runs {words[2]}, not this environment"
        assert Path(words[3]).is_relative_to(ROOT / "mfcredit"), f"the kernel imports {words[3]}"
        assert page.get_by_text("official Jupyter news").count() == 0, "JupyterLab shows its news prompt"
    finally:
        page.close()
        for s in lab["api"]("GET", "sessions"):            # its kernel, so kernels don't pile up
            lab["api"]("DELETE", f"sessions/{s['id']}")


# ------------------------------------------------------------------------------------------- site

def site_pages() -> list[str]:
    """Every page of the site: the front page, the numbered notebooks, docs/*.md."""
    docs = sorted(p.relative_to(ROOT).with_suffix(".html").as_posix() for p in (ROOT / "docs").glob("*.md"))
    return ["README.html", *(f"notebooks/{p.stem}.html" for p in NOTEBOOKS), *docs]


def expected_figures(page: str) -> int:
    """Figures the page must show: the notebook's image outputs, or the Markdown images of a page."""
    if page.startswith("notebooks/"):
        return image_outputs(ROOT / "notebooks" / Path(page).with_suffix(".ipynb").name)
    text = (ROOT / Path(page).with_suffix(".md")).read_text()
    return sum(1 for part in text.split("![")[1:] if not part.split("](", 1)[1].startswith("http"))


def test_site_opens_at_the_front_page(browser, site):
    page = browser.new_page()
    try:
        page.goto(f"{site}/")
        page.wait_for_url("**/README.html")
        assert page.locator("h1").first.inner_text().startswith("mfcredit")
    finally:
        page.close()


@pytest.mark.parametrize("name", site_pages())
def test_site_page(name, browser, site):
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        response = page.goto(f"{site}/{name}", wait_until="load")
        assert response.ok, f"{name}: HTTP {response.status}"
        images = page.locator("img").evaluate_all(
            "is => is.map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}))")
        local = [i for i in images if i["src"].startswith(site)]
        broken = [i["src"] for i in local if not i["ok"]]
        assert not broken, f"{name}: broken images {broken}"
        elsewhere = {i["src"] for i in images} - {i["src"] for i in local}
        assert elsewhere <= EXTERNAL_IMAGES, f"{name}: images from elsewhere {elsewhere - EXTERNAL_IMAGES}"
        figures = [i for i in local if "/_images/" in i["src"]]
        assert len(figures) == expected_figures(name), f"{name}: {len(figures)} figures shown"
        scripts = page.locator("script[src]").evaluate_all("ss => ss.map(s => s.src)")
        assert all(s.startswith(site) for s in scripts), f"{name}: scripts from elsewhere"
        # math: every formula typeset by MathJax (its output element is mjx-container)
        n_math = page.locator(".math").count()
        if n_math:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.math')].every(m => m.querySelector('mjx-container'))")
        if name in ("README.html", "notebooks/01-theory.html"):
            assert n_math > 0 and page.locator("mjx-container").count() >= n_math, f"{name}: no math"
        # the sidebar lists every other page
        nav = {u.split("#")[0] for u in page.locator("nav.bd-links a").evaluate_all("as => as.map(a => a.href)")}
        missing = [p for p in site_pages()[1:] if p != name and f"{site}/{p}" not in nav]
        assert not missing, f"{name}: pages missing from the sidebar {missing}"
        # every local link resolves
        hrefs = page.locator("a[href]").evaluate_all("as => as.map(a => a.href)")
        targets = {h.split("#")[0] for h in hrefs if h.startswith(site)}
        bad = [t for t in sorted(targets) if not resolves(t)]
        assert not bad, f"{name}: broken links {bad}"
    finally:
        page.close()


@functools.cache
def resolves(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status == 200
    except urllib.error.URLError:
        return False
