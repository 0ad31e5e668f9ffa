"""Adam (or LazyAdam), its learning-rate schedule and the moving average of the weights."""
import math

import keras

from sentiment_lstm.model import lazy_adam


def adam(config):
    """Adam at `config.learning_rate` (with `config.lazy_adam`, `lazy_adam.LazyAdam`); with
    `config.ema_momentum`, also keeping the moving average of the weights that
    `ema_callbacks` swaps in for validation and checkpoints."""
    Adam = lazy_adam.LazyAdam if config.lazy_adam else keras.optimizers.Adam
    if not config.ema_momentum:
        return Adam(config.learning_rate)
    return Adam(config.learning_rate, use_ema=True, ema_momentum=config.ema_momentum)


def learning_rate_callbacks(config):
    """With `config.lr_schedule` "cosine", Keras' `LearningRateScheduler` setting epoch e
    (from 0) to `lr (1 + cos(pi e / E)) / 2`, E = `config.lr_schedule_epochs` or else
    `config.epochs`: the full rate first, half of it midway, and small steps in the last
    epochs (0.024 lr in the tenth of 10). Else none."""
    if config.lr_schedule == "constant":
        return []
    span = config.lr_schedule_epochs or config.epochs
    return [keras.callbacks.LearningRateScheduler(lambda epoch: cosine_rate(config.learning_rate, epoch, span))]


def cosine_rate(learning_rate, epoch, epochs):
    """`learning_rate (1 + cos(pi epoch / epochs)) / 2`, a float.

    The rate of Keras' `CosineDecay` with epochs for steps (its step-based form would
    need the number of batches per epoch, which length-bucketed datasets do not know in
    advance), computed in float64 as the validated cosine runs computed it: `CosineDecay`
    works in float32 and lands 1 float32 step away at some epochs, enough for a run to
    stop reproducing bit for bit. `tests/test_schedule.py` checks the two agree.
    """
    return learning_rate * (1 + math.cos(math.pi * epoch / epochs)) / 2


def ema_callbacks(config):
    """With `config.ema_momentum`, Keras' `SwapEMAWeights`, to come before the callbacks that
    read the weights: each validation, and each epoch's end (early stopping, checkpoints),
    sees the averaged weights; training goes on from the last step's. Else none."""
    return [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.ema_momentum else []
