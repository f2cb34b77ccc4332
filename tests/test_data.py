"""Data: shipped MNIST checksums and statistics, every error path, and downloads from a loopback server."""
import gzip
import hashlib
import http.server
import io
import pickle
import shutil
import socket
import struct
import tarfile
import threading

import numpy as np
import pytest
import torch

import mfcredit as mf
from conftest import Malicious
from mfcredit.data import FASHION_MNIST, MNIST, DataError, DatasetSpec, FileSpec, parse_idx

REPO_DATA = mf.utils.REPO / "data"
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ---------------------------------------------------------------- the shipped files

def test_shipped_mnist_is_canonical(mnist):
    assert mnist.x_train.shape == (60000, 784) and mnist.x_test.shape == (10000, 784)
    assert mnist.x_train.dtype == torch.float32 and mnist.y_train.dtype == torch.int64
    assert torch.bincount(mnist.y_train).tolist() == TRAIN_COUNTS
    assert torch.bincount(mnist.y_test).tolist() == TEST_COUNTS
    assert 0.0 <= mnist.x_train.min() and mnist.x_train.max() <= 1.0
    assert abs(mnist.x_train.double().mean().item() - 0.1307) < 1e-4
    assert abs(mnist.x_train.double().std().item() - 0.3081) < 1e-4


def test_first_m_in_original_order(mnist):
    sub = mf.load_dataset("mnist", n_train=10_000)
    assert torch.equal(sub.x_train, mnist.x_train[:10_000]) and torch.equal(sub.y_train, mnist.y_train[:10_000])
    assert sub.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert torch.equal(sub.x_test, mnist.x_test)
    with pytest.raises(ValueError, match="n_train"):
        mf.load_dataset("mnist", n_train=0)
    few = mf.load_dataset("mnist", n_train=100, n_test=300)  # the first n_test test images, and no others
    assert torch.equal(few.x_test, mnist.x_test[:300]) and torch.equal(few.y_test, mnist.y_test[:300])
    assert few.x_test.untyped_storage().nbytes() == 300 * 784 * 4
    with pytest.raises(ValueError, match="n_test"):
        mf.load_dataset("mnist", n_test=10_001)


def test_sha256sums_file_agrees_with_package():
    listed = dict(line.split()[::-1] for line in (REPO_DATA / "mnist" / "SHA256SUMS").read_text().splitlines())
    for f in MNIST.files:
        assert listed[f.name[:-3]] == f.sha256


# ---------------------------------------------------------------- damaged files

@pytest.fixture
def mnist_copy(tmp_path):
    shutil.copytree(REPO_DATA / "mnist", tmp_path / "mnist")
    return tmp_path


def test_missing_file(mnist_copy):
    (mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: file is missing.*ff7bcfd4"):
        mf.load_dataset("mnist", root=mnist_copy)


def test_truncated_gzip(mnist_copy):
    p = mnist_copy / "mnist" / "train-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: not a complete gzip.*65a50cbb"):
        mf.load_dataset("mnist", root=mnist_copy)


def test_altered_content(mnist_copy):
    p = mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(p.read_bytes()))
    content[100] = (content[100] + 1) % 10  # one label changed: still a valid IDX file
    p.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256.*expected ff7bcfd4"):
        mf.load_dataset("mnist", root=mnist_copy)


def test_first_images_only_still_verify_the_whole_file(mnist_copy):
    """n_train keeps only the first images in memory, yet a change after them is still refused."""
    p = mnist_copy / "mnist" / "train-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(p.read_bytes()))
    content[-1] = (content[-1] + 1) % 10  # the very last training label
    p.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: SHA-256"):
        mf.load_dataset("mnist", n_train=10, root=mnist_copy)


def test_other_dataset_in_place(mnist_copy):
    """A test-labels file where the training labels belong: caught by the checksum."""
    d = mnist_copy / "mnist"
    shutil.copy(d / "t10k-labels-idx1-ubyte.gz", d / "train-labels-idx1-ubyte.gz")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: SHA-256"):
        mf.load_dataset("mnist", root=mnist_copy)


def idx_bytes(arr: np.ndarray) -> bytes:
    return b"\x00\x00\x08" + bytes([arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()


def test_parse_idx_errors():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(a), (2, 3, 4)), a)
    with pytest.raises(DataError, match="bad magic"):
        parse_idx(b"\x00\x00\x09\x03" + idx_bytes(a)[4:], (2, 3, 4))
    with pytest.raises(DataError, match="dimensions"):
        parse_idx(idx_bytes(a), (2, 3, 5))
    with pytest.raises(DataError, match="3 dimensions, expected 1"):
        parse_idx(idx_bytes(a), (24,))
    with pytest.raises(DataError, match="data bytes"):
        parse_idx(idx_bytes(a)[:-1], (2, 3, 4))


# ---------------------------------------------------------------- downloads over loopback

def tiny_dataset(n_train=6, n_test=4, seed=0):
    """Four gzip'd IDX files of a 3x3 'dataset' and a spec with their content checksums."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 3, 3)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 3, 3)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test),
    }
    files = {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}
    spec = DatasetSpec("tiny", tuple(FileSpec(n, hashlib.sha256(gzip.decompress(b)).hexdigest(), shape=a.shape)
                                     for (n, b), a in zip(files.items(), arrays.values())), mirrors=(), subdir="tiny")
    return spec, files, arrays


class Server:
    """An HTTP server on 127.0.0.1 serving a dict of {path: bytes}; 'stall' paths never answer;
    'cut' paths announce their full length, send half of it, then stall ('stall') or hang up ('close').
    Every request is appended to ``log`` (shared by the servers of one test, so it also holds their
    order) as (this server's url, method, path)."""

    def __init__(self, files, stall=(), cut=(), cut_mode="close", log=None):
        outer = self
        self.stop = threading.Event()
        self.log = [] if log is None else log

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.log.append((outer.url, self.command, self.path))
                name = self.path.lstrip("/")
                if name in stall:
                    outer.stop.wait(10)
                    return
                if name not in files:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(files[name])))
                self.end_headers()
                if name in cut:
                    self.wfile.write(files[name][: len(files[name]) // 2])
                    self.wfile.flush()
                    if cut_mode == "stall":
                        outer.stop.wait(10)
                    self.close_connection = True
                    return
                self.wfile.write(files[name])

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    """start(files, ...) -> the url of a new loopback mirror; ``start.log``: every request any of
    this test's mirrors received, in order, as (mirror url, method, path)."""
    servers = []

    def start(files, stall=(), **kw):
        servers.append(Server(files, stall, log=start.log, **kw))
        return servers[-1].url

    start.log = []
    yield start
    for s in servers:
        s.close()


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there any more


def test_download_and_load(tmp_path, serve):
    spec, files, arrays = tiny_dataset()
    url = serve(files)
    spec = DatasetSpec(**{**spec.__dict__, "mirrors": (url,)})
    data = mf.load_dataset(spec=spec, root=tmp_path, download=True)
    assert torch.equal(data.y_train, torch.from_numpy(arrays["train-labels-idx1-ubyte.gz"]))
    assert torch.allclose(data.x_test, torch.from_numpy(arrays["t10k-images-idx3-ubyte.gz"].reshape(4, 9)).float() / 255)
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == sorted(files)  # no staging left


def test_corrupt_mirror_falls_back_to_good_one(tmp_path, serve):
    """Mirrors are tried in the spec's order, file by file: the first (corrupt for one file) is asked
    for every file, the second only for the file the first got wrong. What lands is the good
    mirror's file, byte for byte, and nothing else (no staging folder, no partial file)."""
    spec, files, arrays = tiny_dataset()
    bad = dict(files)
    bad["train-images-idx3-ubyte.gz"] = gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 20)
    first, second = serve(bad), serve(files)
    spec = DatasetSpec(**{**spec.__dict__, "mirrors": (first, second)})
    data = mf.load_dataset(spec=spec, root=tmp_path, download=True)
    folder = tmp_path / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)  # no .staging, no partial file
    for name, blob in files.items():
        assert (folder / name).read_bytes() == blob, name
    assert torch.equal(data.x_train, torch.from_numpy(arrays["train-images-idx3-ubyte.gz"].reshape(6, 9)).float() / 255)
    assert torch.equal(data.y_train, torch.from_numpy(arrays["train-labels-idx1-ubyte.gz"]))
    asked = [(url, path.lstrip("/")) for url, method, path in serve.log]
    assert all(method == "GET" for _, method, _ in serve.log)
    assert asked == [(first, "train-images-idx3-ubyte.gz"), (second, "train-images-idx3-ubyte.gz")] + \
        [(first, name) for name in list(files)[1:]], asked


def test_corrupt_only_mirror_leaves_nothing(tmp_path, serve):
    spec, files, _ = tiny_dataset()
    bad = dict(files)
    bad["t10k-labels-idx1-ubyte.gz"] = files["t10k-labels-idx1-ubyte.gz"][:-9]  # truncated download
    spec = DatasetSpec(**{**spec.__dict__, "mirrors": (serve(bad),)})
    with pytest.raises(DataError, match="could not download a valid t10k-labels-idx1-ubyte.gz"):
        mf.load_dataset(spec=spec, root=tmp_path, download=True)
    assert not (tmp_path / "tiny" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not (tmp_path / "tiny" / ".staging").exists()
    # the files before it verified and stay, byte for byte; nothing else is there
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == sorted(list(files)[:3])
    assert all((tmp_path / "tiny" / name).read_bytes() == files[name] for name in list(files)[:3])
    assert [path.lstrip("/") for _, _, path in serve.log] == list(files)  # each file asked once, in order


def test_unreachable_and_stalled_servers(tmp_path, serve):
    spec, files, _ = tiny_dataset()
    stalled = serve(files, stall=set(files))
    spec = DatasetSpec(**{**spec.__dict__, "mirrors": (closed_port_url(), stalled)})
    with pytest.raises(DataError) as err:
        mf.load_dataset(spec=spec, root=tmp_path, download=True, timeout=1.0)
    msg = str(err.value)
    assert "could not download" in msg and "127.0.0.1" in msg
    assert msg.count("http://127.0.0.1") == 2  # both mirrors reported
    assert list((tmp_path / "tiny").iterdir()) == []


@pytest.mark.parametrize("mode", ["close", "stall"])
def test_partial_download_leaves_nothing(tmp_path, serve, mode):
    """A mirror that sends half a file and then hangs up or goes silent: a clear error naming the
    file and the mirror, and no partial file in the data folder (not even in staging)."""
    spec, files, _ = tiny_dataset()
    url = serve(files, cut={"train-images-idx3-ubyte.gz"}, cut_mode=mode)
    spec = DatasetSpec(**{**spec.__dict__, "mirrors": (url,)})
    with pytest.raises(DataError, match=r"(?s)could not download a valid train-images-idx3-ubyte.gz.*127\.0\.0\.1"):
        mf.load_dataset(spec=spec, root=tmp_path, download=True, timeout=1.0)
    left = sorted(p.name for p in (tmp_path / "tiny").rglob("*"))
    assert "train-images-idx3-ubyte.gz" not in left and ".staging" not in left, left


# ---------------------------------------------------------------- Fashion-MNIST, shipped and downloaded

FASHION = REPO_DATA / "fashion-mnist"


def test_shipped_fashion_mnist_matches_published_checksums():
    """The shipped archives against the spec, recomputed from the files themselves (MD5 of the
    archive, SHA-256 of the content) and against the MD5SUMS / SHA256SUMS lists next to them."""
    md5s = dict(line.split()[::-1] for line in (FASHION / "MD5SUMS").read_text().splitlines())
    shas = dict(line.split()[::-1] for line in (FASHION / "SHA256SUMS").read_text().splitlines())
    for f in FASHION_MNIST.files:
        raw = (FASHION / f.name).read_bytes()
        assert hashlib.md5(raw).hexdigest() == f.md5 == md5s[f.name]
        assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == f.sha256 == shas[f.name[:-3]]


def test_shipped_fashion_mnist_loads_offline():
    data = mf.load_dataset("fashion-mnist", n_train=10_000)
    assert data.x_train.shape == (10_000, 784) and data.x_test.shape == (10_000, 784)
    assert data.x_train.dtype == torch.float32
    assert data.y_test.bincount().tolist() == [1000] * 10
    assert 0.0 <= data.x_test.min() and data.x_test.max() <= 1.0
    full = mf.load_dataset("fashion-mnist")
    assert full.y_train.bincount().tolist() == [6000] * 10
    assert abs(full.x_train.mean().item() - 0.2860) < 5e-4 and abs(full.x_train.std().item() - 0.3530) < 5e-4
    assert torch.equal(full.x_train[:10_000], data.x_train)


@pytest.fixture(scope="module")
def fashion_files():
    return {f.name: (FASHION / f.name).read_bytes() for f in FASHION_MNIST.files}


def test_fashion_mnist_download_through_loopback_mirror(tmp_path, serve, fashion_files):
    """The real archives served by a local mirror, through the real download path (pooch, MD5 at
    download, content SHA-256 before the move): the files arrive byte for byte and load."""
    url = serve(fashion_files)
    mf.data.fetch(FASHION_MNIST, tmp_path / "fashion-mnist", mirrors=(url,))
    for name, blob in fashion_files.items():
        assert (tmp_path / "fashion-mnist" / name).read_bytes() == blob
    got = mf.load_dataset("fashion-mnist", root=tmp_path, n_train=100)
    assert torch.equal(got.y_test, mf.load_dataset("fashion-mnist", n_train=100).y_test)


def test_fashion_mnist_corrupt_mirror_refused(tmp_path, serve, fashion_files):
    bad = dict(fashion_files)
    blob = bytearray(bad["t10k-labels-idx1-ubyte.gz"])
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte in the middle of the archive
    bad["t10k-labels-idx1-ubyte.gz"] = bytes(blob)
    spec = DatasetSpec(**{**FASHION_MNIST.__dict__, "mirrors": (serve(bad),)})
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        mf.load_dataset(spec=spec, root=tmp_path, download=True)
    assert not (tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not (tmp_path / "fashion-mnist" / ".staging").exists()


# ---------------------------------------------------------------- CIFAR-10 python format

def cifar_archive(payload_for=None):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            d = {b"data": rng.integers(0, 256, (3, 3072)).astype(np.uint8), b"labels": [1, 2, 3]}
            blob = payload_for(name) if payload_for else pickle.dumps(d, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buf.getvalue()


def cifar_spec(blob):
    return DatasetSpec("c", (FileSpec("cifar-10-python.tar.gz", md5=hashlib.md5(blob).hexdigest()),), (),
                       "c", kind="cifar-python",
                       extra={"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]})


def test_cifar_python_format(tmp_path):
    blob = cifar_archive()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "cifar-10-python.tar.gz").write_bytes(blob)
    data = mf.load_dataset(spec=cifar_spec(blob), root=tmp_path)
    assert data.x_train.shape == (15, 3072) and data.x_test.shape == (3, 3072)
    # height-width-channel order: element (h=0, w=1, c=2) sits at index 1 * 3 + 2
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        raw = pickle.loads(tar.extractfile("cifar-10-batches-py/test_batch").read())[b"data"]
    assert data.x_test[0, 5].item() == pytest.approx(raw[0, 2 * 1024 + 0 * 32 + 1] / 255)
    few = mf.load_dataset(spec=cifar_spec(blob), root=tmp_path, n_train=4, n_test=2)
    assert torch.equal(few.x_train, data.x_train[:4]) and torch.equal(few.x_test, data.x_test[:2])


def test_cifar_malicious_pickle_refused(tmp_path):
    evil = Malicious(tmp_path / "pwned")
    blob = cifar_archive(lambda name: pickle.dumps(evil))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "cifar-10-python.tar.gz").write_bytes(blob)
    with pytest.raises(DataError, match="refusing to unpickle"):
        mf.load_dataset(spec=cifar_spec(blob), root=tmp_path)
    assert not evil.marker.exists()


def test_cifar_wrong_md5(tmp_path):
    blob = cifar_archive()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "cifar-10-python.tar.gz").write_bytes(blob + b"x")
    with pytest.raises(DataError, match="MD5"):
        mf.load_dataset(spec=cifar_spec(blob), root=tmp_path)


def test_validation_split_is_the_end_of_the_training_file(mnist):
    x, y = mf.data.validation_split("mnist", n=10_000, n_train=10_000)
    assert x.shape == (10_000, 784) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(x, mnist.x_train[50_000:]) and torch.equal(y, mnist.y_train[50_000:])
    x2, y2 = mf.data.validation_split("mnist", n=100)
    assert torch.equal(x2, mnist.x_train[-100:]) and torch.equal(y2, mnist.y_train[-100:])
    with pytest.raises(ValueError, match="overlap"):
        mf.data.validation_split("mnist", n=10_000, n_train=50_001)
    with pytest.raises(ValueError, match="validation size"):
        mf.data.validation_split("mnist", n=60_000)
