"""Small helpers: the repository's location, thread count, denormal floats, where progress bars go,
seeded generators, atomic file writes and their leftovers, README blocks."""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import joblib
import torch

#: The repository root (README.md, notebooks/, the default cache/): the folder above the package.
REPO = Path(__file__).resolve().parents[1]

#: Thread count used when neither the caller nor $MFCREDIT_THREADS says otherwise. Chosen by
#: measurement on a 2-core machine (``make bench``, bench/results.json key 'threads'): see README.
DEFAULT_THREADS = min(2, joblib.cpu_count())  # the cores this process may use (affinity, a container's quota)


def default_threads() -> int:
    """$MFCREDIT_THREADS if set (a positive integer), else :data:`DEFAULT_THREADS`."""
    env = os.environ.get("MFCREDIT_THREADS")
    if env is None or env == "":
        return DEFAULT_THREADS
    try:
        n = int(env)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"MFCREDIT_THREADS must be a positive integer, got {env!r}")
    return n


def progress_file(progress: bool | str | None = None):
    """The stream a progress bar writes to, or None for no bar.

    ``progress``: True / '1' (the current sys.stderr: in a notebook kernel, the cell's output),
    False / '0' (none), or 'terminal' (``sys.__stderr__``, the process's own stderr: in a kernel
    started by the pipeline, the pipeline's terminal, never the notebook). None reads
    $MFCREDIT_PROGRESS (default '1').
    """
    if progress is None:
        progress = os.environ.get("MFCREDIT_PROGRESS", "1")
    if progress is True or progress == "1":
        return sys.stderr
    if progress is False or progress in ("0", ""):
        return None
    if progress == "terminal":
        return sys.__stderr__  # None where the process has no stderr: then no bar
    raise ValueError(f"progress must be True, False or 'terminal' (MFCREDIT_PROGRESS 1, 0 or terminal), got {progress!r}")


@contextlib.contextmanager
def num_threads(n: int | None):
    """Run the body with torch using ``n`` intra-op threads (None: :func:`default_threads`)."""
    n = default_threads() if n is None else int(n)
    if n < 1:
        raise ValueError(f"threads must be a positive integer, got {n}")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(old)


#: The bits of a float32 denormal, 2^-127 (below the smallest normal number, 1.18e-38): the probe of
#: :func:`flushes_denormals`, made from its bits since converting 2^-127 to float32 flushes it too.
DENORMAL_BITS = 1 << 22


@functools.cache
def _openmp():
    """The OpenMP runtime torch's threads belong to, if it is GNU's libgomp and already loaded (the
    Linux wheels): RTLD_NOLOAD never loads a second copy. None elsewhere."""
    try:
        return ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except (OSError, AttributeError):
        return None


# called by every thread of an OpenMP team, each setting its own mode (kept alive for the program)
_FLUSH_ON = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: torch.set_flush_denormal(True))
_FLUSH_OFF = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: torch.set_flush_denormal(False))


def set_flush_denormals(on: bool) -> None:
    """Flush denormal floats to zero (FTZ and DAZ) on this thread and on torch's intra-op threads,
    or stop. ``torch.set_flush_denormal`` sets only the calling thread's mode; the others (an
    OpenMP team made at torch's first parallel operation) are each reached by one parallel region
    of libgomp, where it is torch's runtime, with the current thread count."""
    torch.set_flush_denormal(on)
    gomp = _openmp()
    if gomp is not None and torch.get_num_threads() > 1:
        gomp.GOMP_parallel(_FLUSH_ON if on else _FLUSH_OFF, None, ctypes.c_uint(torch.get_num_threads()),
                           ctypes.c_uint(0))


def flushes_denormals(everywhere: bool = True) -> bool:
    """Whether denormal floats now become zero: on every torch thread (a product spread over all of
    them; ``everywhere``) or on this one."""
    n = (1 << 16) * torch.get_num_threads() if everywhere else 1
    tiny = torch.full((n,), DENORMAL_BITS, dtype=torch.int32).view(torch.float32)
    return bool(((tiny * 1.0) == 0).all())


@contextlib.contextmanager
def flush_denormals():
    """Run the body with denormal floats flushed to zero on every torch thread, then put every
    thread back in the mode this thread had. Training runs so (:func:`mfcredit.train`): late in a run the loss is
    tiny, the wrong classes' softmax probabilities and the gradients built from them fall below
    1.2e-38, and arithmetic on such numbers takes the CPU many times longer (docs/performance.md).
    Flushing changes only values that small; set the thread count before entering."""
    was = flushes_denormals(everywhere=False)
    set_flush_denormals(True)
    try:
        yield
    finally:
        set_flush_denormals(was)


def generator(seed: int, device="cpu") -> torch.Generator:
    """A torch.Generator seeded with ``seed`` on ``device``."""
    return torch.Generator(device=device).manual_seed(int(seed))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The process's umask, read once at import (reading it means setting it, which is not thread-safe).
UMASK = _umask()


def default_mode(directory: bool = False) -> int:
    """The mode an ordinary ``open``/``mkdir`` would give: 0o666 (0o777 for a folder) less the umask.
    ``tempfile`` creates 0o600 files and 0o700 folders, which renamed into place would hide figures,
    results and cache entries from other users."""
    return (0o777 if directory else 0o666) & ~UMASK


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers never see a partial file.
    The file gets the usual permissions (:func:`default_mode`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, default_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_leftovers(folder: str | Path, pattern: str) -> list[Path]:
    """Delete the hidden temporaries matching ``pattern`` in ``folder`` (files or folders) that a
    killed writer left: :func:`atomic_write_bytes` writes '.<name>.<random>.tmp', ``save_run``
    '.<name>.<random>/'. Only call it where this process is the only writer. Returns what it removed."""
    removed = []
    for junk in Path(folder).glob(pattern):
        if not junk.name.startswith("."):
            continue
        if junk.is_dir():
            shutil.rmtree(junk, ignore_errors=True)
        else:
            junk.unlink(missing_ok=True)
        removed.append(junk)
    return removed


def replace_marked_block(path: str | Path, name: str, content: str) -> None:
    """Replace the text between '<!-- name:start -->' and '<!-- name:end -->' in ``path`` (a README)."""
    path = Path(path)
    text = path.read_text()
    new = re.sub(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
                 lambda m: m.group(1) + content.strip() + "\n" + m.group(2), text, flags=re.S)
    if new != text:
        atomic_write_bytes(path, new.encode())


@functools.cache
def _glibc():
    """The C library if it is glibc (it has mallopt and malloc_trim), else None (loaded once)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018  (AttributeError where the C library is not glibc)
    except (OSError, AttributeError):
        return None
    return libc


def return_freed_memory(threshold: int = 1 << 20, arenas: int = 2) -> bool:
    """Keep a long-lived process's memory close to what it uses, on glibc:

    - every allocation of ``threshold`` bytes or more gets its own mmap, given back to the system when
      freed. By default glibc raises that threshold (up to 32 MiB) after the first large block is
      freed and serves later blocks from its heap, where freed temporaries (the 16-60 MB weight
      samples of the analyses) stay counted as the process's memory;
    - at most ``arenas`` malloc arenas. glibc gives each new thread (torch's and OpenMP's worker
      threads) an arena of its own, up to 8 per core, and memory freed in one stays reserved there.

    A notebook kernel calls this once (:func:`mfcredit.nb.setup`), and :func:`trim_heap` after every
    cell, to keep its peak memory within small machines' limits, such as Binder's. Returns False
    (doing nothing) where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # from glibc's malloc.h; the first also turns the dynamic raise off
    return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold))) and bool(libc.mallopt(M_ARENA_MAX, int(arenas)))


def trim_heap() -> bool:
    """Give the free memory at the top of every malloc arena back to the system (glibc's malloc_trim);
    False where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
