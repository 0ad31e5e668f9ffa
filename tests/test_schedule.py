"""The cosine learning-rate schedule (`--lr-schedule cosine`): hand-computed rates, and the
rates an Adam optimizer really runs at, epoch by epoch."""
import math

import keras
import numpy as np
import pytest

from sentiment_lstm import cli
from sentiment_lstm.core import config, layout, recipe
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.model import network, optimizer
from sentiment_lstm.training import callbacks, history_files, loop

RATE = 0.01


def test_cosine_rate_by_hand():
    # lr (1 + cos(pi e / E)) / 2 at E = 4: cos 0 = 1, cos(pi/4) = 0.7071, cos(pi/2) = 0, cos(pi) = -1
    rates = [optimizer.cosine_rate(RATE, epoch, 4) for epoch in (0, 1, 2, 4)]
    np.testing.assert_allclose(rates, [RATE, RATE * 0.8535534, RATE / 2, 0.0], rtol=1e-6, atol=1e-9)


def test_cosine_rate_is_keras_cosine_decay_by_epoch_in_float64():
    decay = keras.optimizers.schedules.CosineDecay(RATE, decay_steps=10)
    for epoch in range(11):
        rate = optimizer.cosine_rate(RATE, epoch, 10)
        assert rate == RATE * (1 + math.cos(math.pi * epoch / 10)) / 2  # exactly: the validated runs' rates
        assert rate == pytest.approx(float(decay(epoch)), rel=1e-6, abs=1e-10)


def test_optimizer_runs_at_the_scheduled_rate_each_epoch():
    config = Config(units=3, embed_dim=4, learning_rate=RATE, lr_schedule="cosine", epochs=3,
                    steps_per_execution=1)
    keras.utils.set_random_seed(0)
    built = network.build_token_model(12, config)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(built.optimizer.learning_rate.numpy())))
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 12, size=(8, 5)).astype("int32")
    targets = np.eye(2, dtype="float32")[rng.integers(0, 2, size=8)]
    history = built.fit(tokens, targets, batch_size=4, epochs=3, shuffle=False, verbose=0,
                        callbacks=[*optimizer.learning_rate_callbacks(config), record])
    # cos(pi/3) = 1/2 and cos(2 pi/3) = -1/2: RATE, 3/4 RATE, 1/4 RATE, for both batches of each epoch
    expected = [RATE, 0.75 * RATE, 0.25 * RATE]
    np.testing.assert_allclose(seen, np.repeat(expected, 2), rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)


def test_constant_is_the_default_and_adds_no_callback(tmp_path):
    assert Config().lr_schedule == "constant"
    assert optimizer.learning_rate_callbacks(Config()) == []
    assert not any(isinstance(c, keras.callbacks.LearningRateScheduler)
                   for c in callbacks.make_callbacks(Config(), tmp_path))


def test_flag_reaches_the_training_callbacks(tmp_path):
    parser = config.make_parser(cli.ArgumentParser())
    settings = recipe.from_args(parser.parse_args(["--lr-schedule", "cosine", "--epochs", "5"]))
    schedulers = [c for c in callbacks.make_callbacks(settings, tmp_path)
                  if isinstance(c, keras.callbacks.LearningRateScheduler)]
    assert len(schedulers) == 1
    assert schedulers[0].schedule(4) == pytest.approx(optimizer.cosine_rate(settings.learning_rate, 4, 5))


def test_unknown_schedule_is_a_user_error():
    with pytest.raises(UserError, match="--lr-schedule"):
        Config(lr_schedule="linear")


def test_a_refit_keeps_the_validated_runs_rates():
    """A run validated over 10 epochs that chose epoch 7, refit with --epochs 7
    --lr-schedule-epochs 10, runs its 7 epochs at the validated run's first 7 rates."""
    validated = Config(lr_schedule="cosine", epochs=10)
    refit = Config(lr_schedule="cosine", epochs=7, lr_schedule_epochs=10, val_fraction=0)
    rates = [[optimizer.learning_rate_callbacks(c)[0].schedule(e) for e in range(7)] for c in (validated, refit)]
    assert rates[0] == rates[1]
    squeezed = optimizer.learning_rate_callbacks(Config(lr_schedule="cosine", epochs=7))[0].schedule(6)
    assert squeezed == pytest.approx(optimizer.cosine_rate(validated.learning_rate, 6, 7)) != rates[0][6]
    with pytest.raises(UserError, match="--lr-schedule-epochs must be at least --epochs"):
        Config(lr_schedule="cosine", epochs=10, lr_schedule_epochs=7)


class Killed(Exception):
    pass


class KillAfter(keras.callbacks.Callback):
    """Stops a run after epoch `epoch` (from 0), once BackupAndRestore has saved it,
    keeping the weights it had then."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.weights = self.model.get_weights()
            raise Killed


class StartingWeights(keras.callbacks.Callback):
    """Keeps the weights a run starts its first epoch from (after BackupAndRestore's restore)."""

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self, "weights"):
            self.weights = self.model.get_weights()


def test_a_run_killed_midway_resumes_the_cosine_schedule_where_it_stopped(imdb_folder, tmp_path):
    """Killed after 2 of 3 cosine epochs, the same command runs only the third, at the
    third epoch's rate from the weights the kill left, and publishes the history of all
    three: the first two as one run without a kill gave them. (The third is not that run's
    third: shuffles and dropout draws start again from the seed in the resumed run.)"""
    def run(name, callbacks=()):
        return loop.train(Config(data=str(imdb_folder), val_fraction=0.5, epochs=3, patience=3, units=2,
                                     embed_dim=2, learning_rate=RATE, lr_schedule="cosine",
                                     model_dir=str(tmp_path / name), deterministic=False), callbacks)

    whole = run("whole").history
    kill, start = KillAfter(1), StartingWeights()
    with pytest.raises(Killed):
        run("resumed", [kill])
    assert not (tmp_path / "resumed").exists()
    assert run("resumed", [start]).history["learning_rate"] == pytest.approx([0.25 * RATE])  # epoch 3 of 3 only
    assert len(start.weights) == len(kill.weights) > 0
    for resumed, killed in zip(start.weights, kill.weights):
        np.testing.assert_array_equal(resumed, killed)

    published = history_files.read_history(tmp_path / "resumed" / layout.HISTORY_CSV)
    assert published["epoch"] == [0.0, 1.0, 2.0]
    np.testing.assert_allclose(published["learning_rate"], [RATE, 0.75 * RATE, 0.25 * RATE], rtol=1e-6)
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(published[key][:2], whole[key][:2], rtol=1e-5)
