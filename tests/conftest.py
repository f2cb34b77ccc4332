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


def random_net(widths=(7, 5, 4, 3), seed=0, dtype=torch.float64, boundary=True):
    """A small MFNet with random (pi, m, xi); with ``boundary`` some pi are exactly 0 or 1 and some xi 0."""
    g = torch.Generator().manual_seed(seed)
    net = mf.MFNet(widths, dtype=dtype)
    with torch.no_grad():
        for layer in net.layers:
            layer.pi.copy_(torch.rand(layer.pi.shape, generator=g, dtype=dtype))
            layer.m.copy_(torch.randn(layer.m.shape, generator=g, dtype=dtype))
            layer.xi.copy_(0.5 * torch.rand(layer.xi.shape, generator=g, dtype=dtype))
            if boundary:
                layer.pi.view(-1)[::5] = 0.0
                layer.pi.view(-1)[1::7] = 1.0
                layer.xi.view(-1)[::3] = 0.0
    return net


class Malicious:
    """An object whose unpickling runs code: it writes the file ``marker``. A loader must refuse it,
    so after the load ``marker`` must not exist. tests/test_hardening.py checks that a plain
    ``pickle.loads`` does write it, so that assertion can fail."""

    def __init__(self, marker: Path):
        self.marker = Path(marker).resolve()

    def __reduce__(self):
        return (exec, (f"import pathlib; pathlib.Path({str(self.marker)!r}).write_text('pwned')",))
