import pytest
import torch

import mfcredit as mf

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist():
    """The shipped MNIST (verified by checksum on load)."""
    return mf.load_dataset("mnist")


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
