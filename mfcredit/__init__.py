"""mfcredit: learning credit assignment with spike-and-slab ensembles (Li & Huang, PRL 125, 178301, 2020).

    import mfcredit as mf
    data = mf.load_dataset("mnist", n_train=10_000)
    run = mf.train(mf.TrainConfig(epochs=20), seed=0, data=data)
    runs = mf.train_many(mf.TrainConfig(epochs=20), seeds=range(5), data=data)  # 5 seeds, batched
    net = run.network()                      # MFNet: (pi, m, xi) per connection
    mf.evaluate(net, data.x_test, data.y_test)   # sampled / noisy mean-field / eps = 0 errors
    sub = net.sample()                       # one sub-network, an ordinary torch module
    mf.category_fractions(run.params)        # VIP / UIP / variable per layer
"""
from .analysis import (CATEGORY_NAMES, categories, category_fractions, ensemble_study, perturbation,
                       sample_weights, sampled_predictions)
from .config import TrainConfig, paper_recipe, recipe_2022, recipe_cifar10
from .data import Data, DataError, load_dataset
from .entropy import connection_entropy, layer_entropies
from .gbp import gbp_gradients
from .layers import MeanFieldLinear, PlainLayer, SpikeSlabLayer, moments
from .model import MFNet, PlainNet, build, to_module
from .train import (DivergenceError, Run, RunFileError, evaluate, load_run, lr_at, save_run, train,
                    train_many, train_seeds)
from .utils import default_threads, generator, num_threads

__version__ = "0.1.0"
from .cache import cached_train, default_cache_dir, run_key
from . import analysis, nb, utils  # noqa: E402  (modules used as mf.analysis.*, mf.nb.*)
