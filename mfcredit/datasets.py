"""The data sets this package reads, as data: for each, its files with their published checksums
and shapes, and the mirrors that serve them (MNIST, Fashion-MNIST, CIFAR-10). :mod:`mfcredit.data`
verifies, loads and downloads them."""
from __future__ import annotations

from dataclasses import dataclass, field


class DataError(RuntimeError):
    """A data file is missing, damaged, or of the wrong kind. The message says which and what to do."""


@dataclass(frozen=True)
class FileSpec:
    name: str
    sha256: str | None = None
    """SHA-256 of the decompressed content (checked at every load)."""
    md5: str | None = None
    """MD5 of the file as distributed (checked at every load and at download)."""
    shape: tuple = ()
    """Expected IDX dimensions, () for no IDX file."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: tuple[FileSpec, ...]
    mirrors: tuple[str, ...]
    subdir: str
    kind: str = "idx"  # 'idx' (4 gzip'd IDX files) or 'cifar-python'
    n_classes: int = 10
    extra: dict = field(default_factory=dict)


MNIST = DatasetSpec(
    name="mnist",
    subdir="mnist",
    files=(
        FileSpec("train-images-idx3-ubyte.gz", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", shape=(60000, 28, 28)),
        FileSpec("train-labels-idx1-ubyte.gz", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", shape=(60000,)),
        FileSpec("t10k-images-idx3-ubyte.gz", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", shape=(10000, 28, 28)),
        FileSpec("t10k-labels-idx1-ubyte.gz", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", shape=(10000,)),
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)

# Fashion-MNIST ships in data/fashion-mnist as the published archives: checked by their published
# MD5 and by the SHA-256 of their decompressed content. CIFAR-10: the MD5 its distributor publishes.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    subdir="fashion-mnist",
    files=(
        FileSpec("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                 md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d", shape=(60000, 28, 28)),
        FileSpec("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                 md5="25c81989df183df01b3e8a0aad5dffbe", shape=(60000,)),
        FileSpec("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                 md5="bef4ecab320f06d8554ea6380940ec79", shape=(10000, 28, 28)),
        FileSpec("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                 md5="bb300cfdad3c16e7a12a480ee83cd310", shape=(10000,)),
    ),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)

CIFAR10 = DatasetSpec(
    name="cifar10",
    subdir="cifar10",
    kind="cifar-python",
    files=(FileSpec("cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a"),),
    mirrors=("https://www.cs.toronto.edu/~kriz/",),
    extra={"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
)

SPECS = {s.name: s for s in (MNIST, FASHION_MNIST, CIFAR10)}
