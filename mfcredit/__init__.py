"""mfcredit: learning credit assignment with spike-and-slab ensembles (Li & Huang, PRL 125, 178301
(2020), arXiv:2001.03354).

    import mfcredit as mf
    data = mf.load_dataset("mnist", n_train=10_000)
    run = mf.train(mf.TrainConfig(epochs=20), seed=0, data=data)       # one network, one seed
    runs = mf.sweep([(mf.TrainConfig(epochs=20), s) for s in range(5)])   # in parallel, cached
    net = run.network()                      # MFNet: (pi, m, xi) per connection
    mf.evaluate(net, data.x_test, data.y_test)   # sampled / noisy mean-field / eps = 0 errors
    sub = net.sample()                       # one sub-network, an ordinary torch module
    mf.category_fractions(run.params)        # VIP / UIP / variable per layer
    live = mf.live_connections(run.params, mf.dead_inputs(data.x_train))
    mf.category_fractions(run.params, include=live)   # the same, without connections from blank pixels

The modules, from the bottom up: ``layers`` (the spike-and-slab law, the sampler, the forward
pass, the layer with its gBP backward), ``model`` (the networks), ``gbp`` (gBP written out, and
its autograd oracle), what the notebooks measure: ``evaluation`` (test errors three ways),
``connections`` (VIP / UIP / variable, blank-pixel connections), ``ensemble`` (sampled
sub-networks), ``perturbations`` (the target weight perturbation), ``entropy``, ``stats`` (over
seeds, paired tests), ``pruning`` (removing connections by credit or magnitude) and
``calibration`` (NLL, ECE, Brier, AUROC, temperature scaling), ``config``,
``data``, ``training`` (the loop), ``runs`` (a run's record, saving, checkpoints), ``cache``
(train once, load afterwards), ``shipped`` (the trained runs data/runs holds), ``sweep`` (many runs in parallel worker processes; the function
``mf.sweep`` hides the module, which is ``sys.modules["mfcredit.sweep"]``), ``utils``, and
``nb`` / ``pipeline`` for the notebooks.
"""
from .connections import absence, categories, category_fractions, dead_inputs, live_connections
from .ensemble import ensemble_study
from .evaluation import evaluate
from .perturbations import perturbation
from .cache import cached_train
from .config import TrainConfig, recipe_2022, recipe_cifar10
from .data import Data, load_dataset
from .entropy import connection_entropy, layer_entropies, entropy_by_layer
from .gbp import gbp_gradients, reference_gradients
from .layers import MeanFieldLinear, sample_weights
from .model import MFNet, PlainNet
from .runs import Run
from .sweep import sweep
from .training import train
from .utils import default_threads, generator
from . import (calibration, connections, data, ensemble, evaluation, layers, nb, perturbations,  # noqa: E402,F401
               pruning, shipped, stats, utils)  # (modules used as mf.ensemble.*, mf.nb.*, ...)

__version__ = "0.1.0"

__all__ = [
    "train", "cached_train", "sweep", "Run", "evaluate", "TrainConfig", "recipe_2022", "recipe_cifar10",
    "load_dataset", "Data", "MFNet", "PlainNet", "MeanFieldLinear", "sample_weights",
    "gbp_gradients", "reference_gradients", "categories", "category_fractions", "ensemble_study",
    "perturbation", "connection_entropy", "layer_entropies", "generator", "default_threads",
    "dead_inputs", "live_connections", "absence", "entropy_by_layer",
]
