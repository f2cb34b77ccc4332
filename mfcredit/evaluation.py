"""Test errors of a network three ways: one sampled sub-network, the noisy mean-field pass and the
eps = 0 mean-field pass (Li & Huang, PRL 125, 178301 (2020), arXiv:2001.03354; notebook 1, section 7).

    mf.evaluate(net, x_test, y_test, mf.generator(0))   # {'sampled': %, 'mf_noisy': %, 'mf_mean': %}
"""
from __future__ import annotations

import torch

from .layers import forward, mean_field_forward, mean_product
from .model import PlainNet


def error_rate(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Classification error in percent: logits (B, C), labels y (B,)."""
    return 100.0 * (logits.argmax(dim=-1) != y).double().mean().item()


#: Test images per torch thread that :func:`evaluate` passes at a time (make bench, evaluation row).
EVAL_BLOCK_PER_THREAD = 1000


@torch.no_grad()
def evaluate(net, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None,
             block: int | None = None) -> dict:
    """Test error (%) three ways: 'sampled' (one sub-network drawn from the ensemble), 'mf_noisy'
    (the noisy mean-field pass) and 'mf_mean' (eps = 0). For a plain network the three coincide.
    x (B, N_0), y (B,).

    The images go through ``block`` at a time (default, on the CPU: :data:`EVAL_BLOCK_PER_THREAD`
    per torch thread; elsewhere all at once). On one thread, as in a sweep's workers, a block's
    activations then stay in the core's cache, which makes the evaluation faster; on two it makes no
    difference (make bench, evaluation row). The draws (the sub-network, then the noise of every
    layer for all of x) are made first, in the order of one pass over all of x, so the errors are
    those of that pass up to rounding in the products; with the default blocks of 10,000 images,
    on 1 and 2 threads, every image's logits are the same bits (tests/test_evaluation.py). The
    mean-field passes run on the weight terms mu and var computed once for all blocks
    (:func:`mfcredit.layers.mean_field_forward`), and share the first layer's product s x mu^T,
    computed once per block (the largest product of the evaluation); the errors are those of
    separate passes of ``net`` (tests/test_evaluation.py)."""
    n = len(x)
    if block is None:
        block = EVAL_BLOCK_PER_THREAD * torch.get_num_threads() if x.device.type == "cpu" else max(n, 1)
    if block < 1:
        raise ValueError(f"evaluate: block must be a positive number of images, got {block}")
    rows = [slice(i, i + block) for i in range(0, n, block)] or [slice(0, 0)]
    if isinstance(net, PlainNet):
        e = error_rate(torch.cat([net(x[r]) for r in rows]), y)
        return {"sampled": e, "mf_noisy": e, "mf_mean": e}
    weights = net.sample_weights(generator)
    eps = [x.new_empty((n, width)).normal_(generator=generator) for width in net.widths[1:]]
    terms = net.mean_field_terms()  # computed once for all blocks
    blocks = [_three_passes(weights, terms, eps, x, r) for r in rows]
    return {k: error_rate(torch.cat([b[k] for b in blocks]), y) for k in blocks[0]}


def _three_passes(weights, terms, eps, x, r) -> dict:
    """evaluate's logits of the images x[r] (r a slice): the sub-network ``weights``, and the noisy
    (``eps``, drawn for all of x) and eps = 0 mean-field passes on ``terms``, which share the first
    layer's product."""
    mu, _, s = terms[0]
    first = mean_product(x[r], mu, s)
    return {"sampled": forward(weights, x[r]),
            "mf_noisy": mean_field_forward(terms, x[r], [e[r] for e in eps], first),
            "mf_mean": mean_field_forward(terms, x[r], None, first)}
