"""The same code on a CUDA device (skipped where there is none)."""
import pytest
import torch

import mfcredit as mf

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_gradcheck_on_cuda():
    g = torch.Generator(device="cuda").manual_seed(0)
    a = torch.rand(5, 6, generator=g, device="cuda", dtype=torch.float64, requires_grad=True)
    theta = torch.rand(3, 4, 6, generator=g, device="cuda", dtype=torch.float64)
    theta[0].clamp_(0.05, 0.95)
    theta.requires_grad_()
    eps = torch.randn(5, 4, generator=g, device="cuda", dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a, t: mf.MeanFieldLinear.apply(a, t, eps, 6 ** -0.5), (a, theta))


def test_training_on_cuda(mnist_1000, tmp_path):
    cfg = mf.TrainConfig(n_train=1000, epochs=3, batch_size=100)
    run = mf.train(cfg, 0, data=mnist_1000, progress=False, device="cuda", checkpoint=tmp_path / "c.ckpt", checkpoint_every=0)
    # chance is 90 %; 3 epochs on 1,000 images end near 25-35 % on the CPU, depending on the seed
    assert run.info["device"].startswith("cuda") and run.final() < 60
    assert all(t.device.type == "cpu" for ts in run.params.values() for t in ts)
    cpu = mf.train(cfg, 0, data=mnist_1000, progress=False)  # other kernels, other random streams: close, not equal
    assert abs(run.final("mf_mean") - cpu.final("mf_mean")) < 10
    again = mf.train(cfg, 0, data=mnist_1000, progress=False, device="cuda")
    assert again.metrics["train_loss"] == pytest.approx(run.metrics["train_loss"], rel=1e-5)
