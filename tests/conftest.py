from pathlib import Path

import pytest
import torch

import mfcredit as mf

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist():
    """The shipped MNIST (verified by checksum on load)."""
    return mf.load_dataset("mnist")


@pytest.fixture(scope="session")
def mnist_1000(mnist):
    """The first 1000 training and 500 test images of the shipped MNIST."""
    return mf.Data(mnist.x_train[:1000], mnist.y_train[:1000], mnist.x_test[:500], mnist.y_test[:500])


class Malicious:
    """An object whose unpickling runs code: it writes the file ``marker``. A loader must refuse it,
    so after the load ``marker`` must not exist. tests/test_runs.py checks that a plain
    ``pickle.loads`` does write it, so that assertion can fail."""

    def __init__(self, marker: Path):
        self.marker = Path(marker).resolve()

    def __reduce__(self):
        return (exec, (f"import pathlib; pathlib.Path({str(self.marker)!r}).write_text('pwned')",))
