import math
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

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


#: 300 examples per property, the same ones on every run (derandomize): CI is reproducible.
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
