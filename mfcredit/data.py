"""Datasets: checksummed loading of MNIST (shipped in data/mnist), Fashion-MNIST (shipped in
data/fashion-mnist) and CIFAR-10.

    data = mf.load_dataset("mnist", n_train=10_000)   # first 10,000 training images, original order
    data.x_train  # (10000, 784) float32, pixel / 255
    data.y_train  # (10000,) int64

Every file is verified before use: MNIST by the SHA-256 of its DECOMPRESSED content (mirrors
recompress the .gz), Fashion-MNIST by the MD5 its authors publish for each archive and the SHA-256
of its content, CIFAR-10 by the MD5 its distributor publishes for the archive. A missing, truncated or altered file raises :class:`DataError` naming the file and the
expected checksum; nothing is returned from partial data. ``download=True`` fetches missing files
with pooch into a staging folder and moves each into place only after it verified.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import logging
import math
import os
import pickle
import shutil
import struct
import tarfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from . import planted
from .datasets import CIFAR10, FASHION_MNIST, MNIST, SPECS, DataError, DatasetSpec, FileSpec  # noqa: F401


class Data(NamedTuple):
    """x_*: float tensors (N, D) of pixel / 255; y_*: int64 labels (N,)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def default_root() -> Path:
    """$MFCREDIT_DATA if set, else the repository's data/ folder."""
    env = os.environ.get("MFCREDIT_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "data"


def _digest(algo: str, data: bytes) -> str:
    return hashlib.new(algo, data).hexdigest()


def read_verified(path: Path, spec: FileSpec, keep: int | None = None,
                  ranges: list[tuple[int, int]] | None = None) -> bytes | bytearray:
    """Read ``path``, check it against ``spec`` and return its (decompressed if .gz) bytes; with
    ``keep``, only the first ``keep`` bytes of the content; with ``ranges``, [(start, stop), ...] in
    increasing order, only those byte ranges, joined (the checksum still covers all of it: the
    content is decompressed and hashed in 1 MiB pieces, so the rest is never held in memory)."""
    ranges = ranges if ranges is not None else [(0, math.inf if keep is None else keep)]
    if not path.is_file():
        raise DataError(f"{path}: file is missing (expected {spec.name}, "
                        f"{_expected(spec)}). Restore it, or call load_dataset(..., download=True).")
    raw = path.read_bytes()
    if spec.md5 is not None and _digest("md5", raw) != spec.md5:
        raise DataError(f"{path}: MD5 {_digest('md5', raw)} does not match the expected {spec.md5}; "
                        "the file is damaged or not the published one. Delete it and download again.")
    if not (path.suffix == ".gz" and spec.shape):
        content = b"".join(raw[a:None if b == math.inf else b] for a, b in ranges)
        sha = _digest("sha256", raw) if spec.sha256 else None
    else:
        content, h, at = bytearray(), hashlib.sha256(), 0  # grown in place: never a second full copy
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
                while piece := f.read(1 << 20):
                    h.update(piece)
                    for a, b in ranges:  # the parts of this piece, content[at : at + len(piece)], to keep
                        lo, hi = max(a, at), min(b, at + len(piece))
                        if lo < hi:
                            content += piece[lo - at: hi - at]
                    at += len(piece)
        except (EOFError, OSError, gzip.BadGzipFile) as e:
            raise DataError(f"{path}: not a complete gzip file ({e}); expected {_expected(spec)}. "
                            "Delete it and download again.") from None
        sha = h.hexdigest()
    if spec.sha256 is not None and sha != spec.sha256:
        raise DataError(f"{path}: SHA-256 of the decompressed content is {sha}, "
                        f"expected {spec.sha256}; the file is damaged or not the published one. "
                        "Delete it and download again.")
    return content


def _expected(spec: FileSpec) -> str:
    return f"sha256 of content {spec.sha256}" if spec.sha256 else f"md5 {spec.md5}"


def parse_idx(content: bytes, shape: tuple, where: str = "IDX data", n: int | None = None) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (magic 0x00000801 or 0x00000803) and check its shape;
    with ``n``, ``content`` may hold only the first ``n`` records and those are returned."""
    if len(content) < 4 or content[:3] != b"\x00\x00\x08":
        raise DataError(f"{where}: not an IDX file of unsigned bytes (bad magic number {content[:4].hex()})")
    ndim = content[3]
    if ndim != len(shape) or len(content) < 4 + 4 * ndim:
        raise DataError(f"{where}: IDX file has {ndim} dimensions, expected {len(shape)}")
    dims = struct.unpack(f">{ndim}I", content[4: 4 + 4 * ndim])
    if tuple(dims) != tuple(shape):
        raise DataError(f"{where}: IDX dimensions {dims}, expected {tuple(shape)}")
    body = memoryview(content)[4 + 4 * ndim:]  # a view: no copy of the records
    dims = (dims[0] if n is None else n, *dims[1:])
    if len(body) != int(np.prod(dims)):
        raise DataError(f"{where}: {len(body)} data bytes, expected {int(np.prod(dims))}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles only numpy arrays and plain containers: a CIFAR batch file cannot run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}  # encode: bytes in protocol 2

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise DataError(f"refusing to unpickle {module}.{name}: a CIFAR-10 batch holds only arrays")


def _cifar_arrays(content: bytes, names: list[str], where: Path) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    try:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for n in names:
                if n not in members:
                    raise DataError(f"{where}: archive has no member {n!r}")
                d = _ArrayOnlyUnpickler(tar.extractfile(members[n]), encoding="bytes").load()
                x = np.asarray(d[b"data"], dtype=np.uint8)
                if x.ndim != 2 or x.shape[1] != 3072:
                    raise DataError(f"{where}:{n}: data has shape {x.shape}, expected (N, 3072)")
                xs.append(x)
                ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    except (tarfile.TarError, EOFError, OSError, KeyError, pickle.UnpicklingError) as e:
        raise DataError(f"{where}: not a valid CIFAR-10 python archive ({type(e).__name__}: {e})") from None
    x = np.concatenate(xs)
    # stored channel-major (3, 32, 32); the recipe flattens in height-width-channel order
    x = x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).reshape(-1, 3072)
    return x, np.concatenate(ys)


def _spec(name: str, spec: DatasetSpec | None) -> DatasetSpec:
    """``spec`` if given, else the registered spec of ``name`` (a ValueError naming the choices)."""
    if spec is None:
        if name not in SPECS:
            raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(SPECS)}")
        spec = SPECS[name]
    return spec


def _records(folder: Path, f: FileSpec, n: int | None = None, last: bool = False) -> np.ndarray:
    """The IDX file ``f`` in ``folder``, verified; with ``n``, only its first n records (its last n if
    ``last``) are kept in memory."""
    head, size = 4 + 4 * len(f.shape), int(np.prod(f.shape[1:], dtype=np.int64))
    ranges = None if n is None else [(0, head + n * size)] if not last else [(0, head), (head + (f.shape[0] - n) * size, math.inf)]
    return parse_idx(read_verified(folder / f.name, f, ranges=ranges), f.shape, str(folder / f.name), n)


def _first(n, total: int, what: str = "n_train") -> int:
    """How many examples to keep: ``n`` (an integer in [1, total]; ``what`` names it) or all of them."""
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= total):
        raise ValueError(f"{what} must be an integer in [1, {total}], got {n!r}")
    return total if n is None else n


def _images(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """Pixels / 255: one float copy, divided in place (no float64 copy unless dtype asks for it)."""
    return torch.from_numpy(np.array(x, dtype=np.float32)).to(dtype).div_(255.0)


def _labels(y: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(y).astype(np.int64))


def load_dataset(name: str = "mnist", n_train: int | None = None, root: str | Path | None = None,
                 download: bool = False, dtype: torch.dtype = torch.float32, spec: DatasetSpec | None = None,
                 timeout: float = 30.0, n_test: int | None = None) -> Data:
    """Load a dataset as pixel / 255 tensors, verified by checksum.

    Args:
        name: 'mnist', 'fashion-mnist', 'cifar10' or 'teacher' (:mod:`mfcredit.planted`, generated).
        n_train: keep only the FIRST n_train training examples, in the original file order.
        n_test: keep only the FIRST n_test test examples (the others are never held in memory).
        root: folder holding one sub-folder per dataset (default :func:`default_root`).
        download: fetch missing files from the dataset's mirrors (pooch), verified before use.
        spec: a custom :class:`DatasetSpec` (used by the tests); overrides ``name``.
    """
    if name == "teacher" and spec is None:  # the planted teacher problem: generated, not read
        xtr, ytr, xte, yte = planted.teacher_arrays(n_train, dtype)
        n = _first(n_test, len(xte), "n_test")
        return Data(xtr, ytr, xte[:n].clone(), yte[:n].clone())
    spec = _spec(name, spec)
    folder = Path(root if root is not None else default_root()) / spec.subdir
    if download:
        fetch(spec, folder, timeout=timeout)
    if spec.kind == "idx":  # train images, train labels, test images, test labels
        n = _first(n_train, spec.files[0].shape[0])
        xtr, ytr = (_records(folder, f, n) for f in spec.files[:2])
        n_te = _first(n_test, spec.files[2].shape[0], "n_test")
        xte, yte = (_records(folder, f, n_te) for f in spec.files[2:])
        xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
    elif spec.kind == "cifar-python":
        f = spec.files[0]
        content = read_verified(folder / f.name, f)
        xtr, ytr = _cifar_arrays(content, spec.extra["train"], folder / f.name)
        xte, yte = _cifar_arrays(content, spec.extra["test"], folder / f.name)
        n, n_te = _first(n_train, len(xtr)), _first(n_test, len(xte), "n_test")
        xtr, ytr, xte, yte = xtr[:n], ytr[:n], xte[:n_te], yte[:n_te]
    else:
        raise ValueError(f"unknown dataset kind {spec.kind!r}")
    for y, part in ((ytr, "training"), (yte, "test")):
        if len(y) and (y.min() < 0 or y.max() >= spec.n_classes):
            raise DataError(f"{folder}: {part} labels outside 0..{spec.n_classes - 1}")
    return Data(_images(xtr, dtype), _labels(ytr), _images(xte, dtype), _labels(yte))


def fetch(spec: DatasetSpec, folder: str | Path, mirrors: tuple[str, ...] | None = None, timeout: float = 30.0) -> Path:
    """Download the files of ``spec`` that are missing from ``folder``; verify each before moving it in.

    Files are downloaded into ``folder/.staging``, checked (archive MD5 and/or content SHA-256),
    then renamed into place, so ``folder`` never holds a partial or unverified file. Every mirror is
    tried in turn; if none gives a valid file, :class:`DataError` lists what each one did.
    """
    import pooch  # imported here: only the download path needs it

    logging.getLogger("pooch").setLevel(logging.WARNING)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / ".staging"
    for f in spec.files:
        target = folder / f.name
        if target.is_file():
            continue
        failures = []
        for base in mirrors or spec.mirrors:
            url = base.rstrip("/") + "/" + f.name
            staging.mkdir(exist_ok=True)
            tmp = staging / f.name
            try:
                pooch.retrieve(url, known_hash=f"md5:{f.md5}" if f.md5 else None, fname=f.name, path=staging,
                               downloader=pooch.HTTPDownloader(timeout=timeout, progressbar=False))
                read_verified(tmp, f)
            except Exception as e:  # noqa: BLE001 - every failure is reported below, by mirror
                failures.append(f"{url}: {type(e).__name__}: {e}")
                tmp.unlink(missing_ok=True)
                continue
            os.replace(tmp, target)
            break
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_file():
            raise DataError(f"could not download a valid {f.name} ({_expected(f)}) from any mirror:\n  "
                            + "\n  ".join(failures))
    return folder


def validation_split(name: str = "mnist", n: int = 10_000, n_train: int | None = None,
                     root: str | Path | None = None, dtype: torch.dtype = torch.float32,
                     spec: DatasetSpec | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The LAST ``n`` images of the official training file, for choosing hyperparameters without the
    test set: (x (n, D) pixel / 255, y (n,) int64). For MNIST's 60,000, n = 10,000 gives indices
    50,000-59,999. Only these n images are converted to floats (the test file is not read).

    ``n_train``: the size of the training set used beside it (its FIRST n_train images, as in
    :func:`load_dataset`); a ValueError if the two overlap, so a validation image is never trained on.
    """
    if name == "teacher" and spec is None:
        total = planted.TEACHER_POOL  # only the last n examples of its pool are drawn and kept
        _check_last(total, n, n_train)
        return planted.teacher_split(total - n, total, dtype)
    spec = _spec(name, spec)
    folder = Path(root if root is not None else default_root()) / spec.subdir
    if spec.kind == "idx":  # only the last n records are kept while the file is decompressed
        _check_last(spec.files[0].shape[0], n, n_train)
        x, y = (_records(folder, f, n, last=True) for f in spec.files[:2])
        return _images(x.reshape(len(x), -1), dtype), _labels(y)
    if spec.kind == "cifar-python":
        f = spec.files[0]
        x, y = _cifar_arrays(read_verified(folder / f.name, f), spec.extra["train"], folder / f.name)
    else:
        raise ValueError(f"unknown dataset kind {spec.kind!r}")
    x, y = _last(x, y, n, n_train)  # only these n images are converted to floats
    return _images(x, dtype), _labels(y)


def _last(x, y, n, n_train):
    """The last ``n`` of the training examples (x, y), refusing an overlap with the first ``n_train``."""
    total = len(x)
    _check_last(total, n, n_train)
    return x[total - n:], y[total - n:]


def _check_last(total, n, n_train):
    """Refuse a validation size ``n`` out of ``total`` that is not in [1, total) or overlaps the first ``n_train``."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n < total:
        raise ValueError(f"validation size n must be an integer in [1, {total - 1}], got {n!r}")
    if n_train is not None and n_train > total - n:
        raise ValueError(f"the first n_train = {n_train} training images overlap the last n = {n} used for "
                         f"validation ({total} in all): use n_train + n <= {total}")
