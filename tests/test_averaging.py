"""Weight averaging (`--ema-momentum`): Keras' EMA of the weights, checked by hand on a tiny model."""
import dataclasses

import keras
import numpy as np
import pytest

from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.model import network, optimizer
from sentiment_lstm.training.callbacks import make_callbacks, prepare_work_area

MOMENTUM = 0.6
TINY = Config(units=3, embed_dim=4, dense_dropout=0.0, embedding_dropout=0.0, learning_rate=0.05,
              ema_momentum=MOMENTUM, steps_per_execution=1, patience=5)


def tiny_data(seed):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, 12, size=(12, 6)).astype("int32")
    tokens[::3, 4:] = 0  # some padding
    return tokens, np.eye(2, dtype="float32")[rng.integers(0, 2, size=12)]


def build(config=TINY):
    keras.utils.set_random_seed(0)
    return network.build_token_model(12, config)


class Kill(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            raise KeyboardInterrupt


def fit(built, callbacks, epochs=1, steps=None):
    """Fit `built` on tiny data in batches of 4; return (history, the weights after each step)."""
    steps = [] if steps is None else steps
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: steps.append([w.numpy() for w in built.trainable_weights]))
    keras.utils.set_random_seed(0)
    history = built.fit(*tiny_data(0), validation_data=tiny_data(1), batch_size=4, epochs=epochs, shuffle=False,
                        callbacks=[*callbacks, record], verbose=0)
    return history, steps


def moving_average(steps, momentum):
    """The EMA by hand: a_1 = w_1, a_k = m a_(k-1) + (1 - m) w_k, per weight."""
    average = steps[0]
    for weights in steps[1:]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
    return average


def assert_weights_close(actual, expected):
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, atol=1e-5)


def test_the_model_ends_with_the_moving_average_and_validates_it():
    built = build()
    history, steps = fit(built, optimizer.ema_callbacks(TINY))
    average = moving_average(steps, MOMENTUM)
    assert len(steps) == 3
    assert not np.allclose(average[0], steps[-1][0], atol=1e-3)  # the average is not the last step
    assert_weights_close([w.numpy() for w in built.trainable_weights], average)
    # validation during fit saw the averaged weights, the ones the model now holds
    assert history.history["val_loss"][0] == pytest.approx(built.evaluate(*tiny_data(1), verbose=0)[0], abs=1e-5)


def test_training_goes_on_from_the_last_steps_weights():
    built = build()
    _, steps = fit(built, optimizer.ema_callbacks(TINY), epochs=2)
    # the second epoch's steps continue from the first's last step, not from its average
    reference = build(dataclasses.replace(TINY, ema_momentum=0.0))
    _, plain = fit(reference, [], epochs=2)
    assert len(steps) == len(plain) == 6
    assert_weights_close(steps[-1], plain[-1])
    assert_weights_close([w.numpy() for w in built.trainable_weights], moving_average(steps, MOMENTUM))


def test_without_momentum_nothing_is_averaged():
    assert not network.build_token_model(12, Config(units=2, embed_dim=2)).optimizer.use_ema
    assert optimizer.ema_callbacks(Config()) == []
    with pytest.raises(UserError, match="--ema-momentum must be at most"):
        Config(ema_momentum=1.0)


def test_the_backup_keeps_the_weights_training_goes_on_from(tmp_path):
    work = prepare_work_area(tmp_path / "m.work", TINY)
    callbacks = make_callbacks(TINY, work)
    kinds = [type(c).__name__ for c in callbacks]
    assert kinds.index("SwapEMAWeights") < min(kinds.index("EarlyStopping"), kinds.index("ModelCheckpoint"))
    built = build()
    with pytest.raises(KeyboardInterrupt):  # killed after its second epoch: the backup is kept
        fit(built, [*callbacks, Kill(after_epoch=1)], epochs=3, steps=(steps := []))

    saved = build()
    saved.load_weights(work / "backup" / "latest.weights.h5")
    assert_weights_close([w.numpy() for w in saved.trainable_weights], steps[-1])
    best = build()
    best.load_weights(work / "best.weights.h5")  # the checkpoint holds an average, not a step
    assert len(steps) == 6
    averages = [moving_average(steps[:3], MOMENTUM), moving_average(steps, MOMENTUM)]
    assert any(all(np.allclose(b, a, atol=1e-5) for b, a in zip([w.numpy() for w in best.trainable_weights],
                                                                    average)) for average in averages)
