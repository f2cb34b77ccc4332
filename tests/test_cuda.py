"""The same code on a CUDA device (skipped where there is none), held to the CPU in float64.

In float64 the CPU and the GPU differ only in the order of their sums (relative 1e-16 per
operation), so gradients, one training step and the first steps of a run must agree to far tighter
bounds than any real difference would allow: relative 1e-10 for gradients and a step's parameters,
1e-9 for the losses of a few steps. "Relative" is per tensor, max |a - b| <= rtol * max |b|: an
element that is zero up to rounding (a cancellation) has no meaningful relative error of its own.

The noise is drawn on the CPU and moved to the device: ``mf.train`` draws its initialisation and its
noise from a generator on the device, and torch's CUDA generator (Philox) gives other numbers than
the CPU's (Mersenne Twister) for the same seed, so a whole ``mf.train`` on CUDA is another run, not
the CPU's run computed elsewhere. The step-by-step checks therefore drive
:func:`mfcredit.training.train_step` (forward, gBP, decay, Adam, projection), the function ``train``
runs per batch, with the same initial parameters, batches and noise on both devices.

The helpers take the device as an argument, so their logic can be run with device="cpu" on both
sides where there is no GPU.
"""
import pytest
import torch

import mfcredit as mf
from mfcredit.gbp import random_net
from mfcredit.model import MFNet
from mfcredit.training import adam, train_step

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

RTOL_GRAD = 1e-10
RTOL_LOSS = 1e-9
F64 = torch.float64


def assert_close(got: torch.Tensor, want: torch.Tensor, rtol: float, what: str):
    got, want = got.detach().cpu(), want.detach().cpu()
    assert got.shape == want.shape and got.dtype == want.dtype, what
    scale = want.abs().max().item()
    diff = (got - want).abs().max().item()
    assert diff <= rtol * scale + 1e-300, f"{what}: max |diff| {diff:.3e}, max |value| {scale:.3e}"


class HostNoiseNet(MFNet):
    """An MFNet whose training noise is drawn on the CPU from a CPU generator, then moved to the
    network's device: the same eps wherever the network lives."""

    def forward(self, x, noise=True, generator=None, eps=None, collect=None):
        if eps is None and noise:
            eps = [torch.empty(x.shape[:-1] + (n,), dtype=x.dtype).normal_(generator=generator).to(x.device)
                   for n in self.widths[1:]]
        return super().forward(x, noise=noise, eps=eps, collect=collect)


def moved(net: MFNet, device, cls=MFNet) -> MFNet:
    """A copy of ``net`` (its parameters, float64) on ``device``."""
    return cls(net.widths, dtype=F64, device=device).load_(net.state())


def gradient_case(seed=0, widths=(30, 12, 9, 4), batch=17):
    g = mf.generator(seed)
    net = random_net(widths, generator=g, dtype=F64)
    x = torch.rand(batch, widths[0], generator=g, dtype=F64)
    y = torch.randint(0, widths[-1], (batch,), generator=g)
    eps = [torch.randn(batch, n, generator=g, dtype=F64) for n in widths[1:]]
    return net, x, y, eps


def compare_gradients(device_a: str, device_b: str, seed: int = 0):
    """gBP on two devices, the same net, inputs and noise: the training backward
    (``reference_gradients(..., fused=True)``, i.e. MeanFieldLinear) and the closed form."""
    net, x, y, eps = gradient_case(seed)
    out = {}
    for device in (device_a, device_b):
        n = moved(net, device)
        args = (x.to(device), y.to(device), [e.to(device) for e in eps])
        out[device, "fused"] = mf.reference_gradients(n, *args, fused=True)
        out[device, "closed form"] = mf.gbp_gradients(n, *args)
    for kind in ("fused", "closed form"):
        a, b = out[device_a, kind], out[device_b, kind]
        for key in ("pi", "m", "xi", "delta"):
            for l, (ga, gb) in enumerate(zip(a[key], b[key])):
                assert_close(ga, gb, RTOL_GRAD, f"{kind} d/d{key} layer {l}")
    return out


def one_step(device: str, seed: int = 0, cfg: mf.TrainConfig | None = None):
    """Parameters and loss after one train_step of the paper recipe's update on a float64 net."""
    cfg = cfg or mf.TrainConfig(widths=(30, 12, 9, 4), dtype="float64")
    net0, x, y, _ = gradient_case(seed, cfg.widths, batch=20)
    with torch.no_grad():
        for layer in net0.layers:
            layer.xi.mul_(0.05)  # a trained-like net: pi in the box, some at its edges
    net = moved(net0, device, HostNoiseNet)
    opt = adam(net, cfg, cfg.lr, torch.device(device))
    loss = train_step(net, opt, x.to(device), y.to(device), mf.generator(seed + 1), cfg, cfg.lr)
    return net.state(), loss.item()


def compare_step(device_a: str, device_b: str, seed: int = 0):
    (pa, la), (pb, lb) = one_step(device_a, seed), one_step(device_b, seed)
    assert abs(la - lb) <= RTOL_LOSS * abs(lb), (la, lb)
    for key in ("pi", "m", "xi"):
        for l, (a, b) in enumerate(zip(pa[key], pb[key])):
            assert_close(a, b, RTOL_GRAD, f"{key} layer {l} after one step")


def short_run(device: str, steps: int = 6, seed: int = 0, data: mf.Data | None = None):
    """The paper recipe (float64, decay, Adam, projection) on MNIST images for a few steps, the
    batches and the initialisation drawn on the CPU: the loss of every step and the final parameters."""
    cfg = mf.TrainConfig(n_train=400, batch_size=100, dtype="float64")
    g = mf.generator(seed)
    net = moved(MFNet(cfg.widths, dtype=F64).init_(cfg.init_m_std, cfg.init_xi, cfg.init_pi, g), device, HostNoiseNet)
    x = data.x_train[:cfg.n_train].to(device, F64)
    y = data.y_train[:cfg.n_train].to(device)
    order = torch.randperm(cfg.n_train, generator=mf.generator(seed + 1))
    opt, noise, losses = adam(net, cfg, cfg.lr, torch.device(device)), mf.generator(seed + 2), []
    for step in range(steps):
        idx = order[(step * cfg.batch_size) % cfg.n_train:][:cfg.batch_size].to(device)
        losses.append(train_step(net, opt, x[idx], y[idx], noise, cfg, cfg.lr).item())
    return losses, net.state()


def compare_short_runs(device_a: str, device_b: str, data: mf.Data, steps: int = 6):
    (la, pa), (lb, pb) = short_run(device_a, steps, data=data), short_run(device_b, steps, data=data)
    for step, (a, b) in enumerate(zip(la, lb), 1):
        assert abs(a - b) <= RTOL_LOSS * abs(b), f"step {step}: loss {a!r} vs {b!r}"
    return la, lb


def test_gradcheck_on_cuda():
    g = torch.Generator(device="cuda").manual_seed(0)
    a = torch.rand(5, 6, generator=g, device="cuda", dtype=torch.float64, requires_grad=True)
    theta = torch.rand(3, 4, 6, generator=g, device="cuda", dtype=torch.float64)
    theta[0].clamp_(0.05, 0.95)
    theta.requires_grad_()
    eps = torch.randn(5, 4, generator=g, device="cuda", dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a, t: mf.MeanFieldLinear.apply(a, t, eps, 6 ** -0.5), (a, theta))


@pytest.mark.parametrize("seed", [0, 1])
def test_gradients_equal_on_cpu_and_cuda(seed):
    compare_gradients("cpu", "cuda", seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_one_training_step_equal_on_cpu_and_cuda(seed):
    compare_step("cpu", "cuda", seed)


def test_first_steps_of_training_equal_on_cpu_and_cuda(mnist_1000):
    compare_short_runs("cpu", "cuda", mnist_1000)


def test_training_on_cuda(mnist_1000, tmp_path):
    """mf.train's device plumbing: it runs on CUDA (checkpointing on the way), reports the device,
    returns CPU tensors, and gives the same numbers twice."""
    cfg = mf.TrainConfig(n_train=1000, epochs=3, batch_size=100)
    run = mf.train(cfg, 0, data=mnist_1000, progress=False, device="cuda", checkpoint=tmp_path / "c.ckpt",
                   checkpoint_every=0)
    assert run.info["device"].startswith("cuda")
    assert all(t.device.type == "cpu" for ts in run.params.values() for t in ts)
    again = mf.train(cfg, 0, data=mnist_1000, progress=False, device="cuda")
    assert again.metrics["train_loss"] == pytest.approx(run.metrics["train_loss"], rel=1e-5)
