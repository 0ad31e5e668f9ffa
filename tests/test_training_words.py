"""What training says while it works (`training.py`, `progress.py`): the steps of an
epoch known from the first one, which epoch is kept and why the fit ended, a line
when a run resumes (in test_app.py), and curves with whole epochs and the kept one marked."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment_lstm.core import progress
from sentiment_lstm.core.config import Config
from sentiment_lstm.data.dataset import Dataset
from sentiment_lstm.data.imdb import CLASS_NAMES
from sentiment_lstm.text import pipeline, tokenizer
from sentiment_lstm.training import callbacks, history_files

TEXTS = ["a good film", "a bad film", "good good acting", "bad plot", "fine", "dull dull dull", "great", "awful"]


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_per_epoch_is_the_number_of_batches_of_every_epoch(shuffle):
    reviews = Dataset(TEXTS * 5, np.array([1, 0] * 20), CLASS_NAMES)
    vectorizer = tokenizer.make_vectorizer(TEXTS, max_tokens=20)
    dataset = pipeline.make_dataset(reviews, vectorizer, batch_size=3, max_length=3, shuffle=shuffle)
    for _ in range(2):
        assert sum(1 for _ in dataset) == dataset.batches_per_epoch
    assert dataset.batches_per_epoch > 40 // 3  # the last batch of each bucket may be short
    # Unknown to Keras on purpose: told it, Keras opens an extra iterator at each epoch's
    # end, which draws an epoch order of its own, and epochs 2+ get other batches.
    assert int(dataset.cardinality()) == int(tf.data.UNKNOWN_CARDINALITY)


def test_the_first_epoch_shows_its_steps_and_the_batches_are_unchanged(capsys):
    reviews = Dataset(TEXTS * 3, np.array([1, 0] * 12), CLASS_NAMES)
    vectorizer = tokenizer.make_vectorizer(TEXTS, max_tokens=20)
    steps = pipeline.make_dataset(reviews, vectorizer, batch_size=4, max_length=3).batches_per_epoch

    def fit(callbacks):  # a fresh dataset: each iterator of one draws the next epoch's order
        keras.utils.set_random_seed(0)
        dataset = pipeline.make_dataset(reviews, vectorizer, batch_size=4, max_length=3, shuffle=True)
        tiny = keras.Sequential([keras.layers.Embedding(20, 4), keras.layers.GlobalAveragePooling1D(),
                                 keras.layers.Dense(2, activation="softmax")])
        tiny.compile("adam", "categorical_crossentropy")
        return tiny.fit(dataset, epochs=3, verbose=1, callbacks=callbacks, shuffle=False).history["loss"]

    told = fit([callbacks.StepsKnown(steps)])
    shown = capsys.readouterr().out
    assert "Unknown" not in shown and f"{steps}/{steps}" in shown
    assert fit([]) == told  # the same batches in the same order: bit-identical losses
    assert "Unknown" in capsys.readouterr().out


class Stopped:  # what report_kept reads of keras.callbacks.EarlyStopping
    def __init__(self, stopped_epoch):
        self.stopped_epoch = stopped_epoch


def test_the_end_of_a_fit_says_which_epoch_is_kept(capsys):
    history = {"epoch": [0.0, 1.0, 2.0, 3.0], "loss": [0.6, 0.4, 0.3, 0.2],
               "val_loss": [0.5, 0.33, 0.35, 0.4]}
    config = Config(epochs=10, patience=2)
    history_files.report_kept(history, config, Stopped(3))
    history_files.report_kept(history, config, Stopped(0))
    history_files.report_kept({"epoch": [0.0, 1.0], "loss": [0.5, 0.4]}, Config(epochs=2, val_fraction=0.0))
    assert capsys.readouterr().out.splitlines() == [
        "Stopped after epoch 4 of 10 (no lower val_loss for 2 epochs): kept epoch 2, val_loss 0.3300.",
        "Trained 4 of 10 epochs: kept epoch 2, val_loss 0.3300.",
        "Trained 2 of 2 epochs: kept the last, epoch 2.",
    ]


def test_the_curves_have_whole_epochs_and_mark_the_kept_one(tmp_path):
    history = {"epoch": [0.0, 1.0, 2.0], "loss": [0.6, 0.4, 0.5], "accuracy": [0.6, 0.8, 0.7],
               "val_loss": [0.5, 0.45, 0.6], "val_accuracy": [0.7, 0.75, 0.7]}
    figure = history_files.plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    for ax in figure.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks)
        kept = [line for line in ax.get_lines() if line.get_label() == "kept: epoch 2"]
        assert len(kept) == 1 and list(kept[0].get_xdata()) == [2, 2]


def test_progress_off_a_terminal_is_a_line_per_update(capsys, monkeypatch):
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)
    bar = progress.Bar(3, "reviews")
    for done in (1, 2, 3, 3):
        bar.update(done)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == ["  1/3 reviews", "  2/3 reviews", "  3/3 reviews"]
