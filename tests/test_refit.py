"""The refit (`--val-fraction 0`): every labeled training review, exactly --epochs epochs, the last one published."""
import json

import keras
import numpy as np
import pytest

from sentiment_lstm.core import layout
from sentiment_lstm.core.config import Config
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import imdb
from sentiment_lstm.inference import classify
from sentiment_lstm.text import pipeline
from sentiment_lstm.training import callbacks, loop


class LastWeights(keras.callbacks.Callback):
    """Keeps the embedding as it was at the end of each epoch."""

    def __init__(self):
        super().__init__()
        self.embeddings = []

    def on_epoch_end(self, epoch, logs=None):
        self.embeddings.append(self.model.get_layer("embedding").get_weights()[0])


def test_refit_trains_on_every_labeled_review_and_publishes_the_last_epoch(imdb_folder, tmp_path, monkeypatch):
    calls = []
    make_dataset = pipeline.make_dataset

    def spy(reviews, *args, **kwargs):
        calls.append(list(reviews.texts))
        return make_dataset(reviews, *args, **kwargs)

    monkeypatch.setattr(pipeline, "make_dataset", spy)
    config = Config(data=str(imdb_folder), val_fraction=0.0, epochs=4, patience=1, learning_rate=0.5,
                    units=2, embed_dim=2, model_dir=str(tmp_path / "model"))
    weights = LastWeights()
    loop.train(config, callbacks=[weights])

    assert calls == [imdb.load_reviews(imdb_folder, "train", seed=config.seed).texts]  # no validation set
    history = json.loads((tmp_path / "model" / layout.HISTORY_JSON).read_text())
    assert history["epoch"] == [0.0, 1.0, 2.0, 3.0] and not any(key.startswith("val_") for key in history)
    assert (tmp_path / "model" / layout.CURVES_PNG).stat().st_size > 0
    published = keras.saving.load_model(tmp_path / "model" / layout.MODEL_FILE, safe_mode=True)
    np.testing.assert_array_equal(published.get_layer("token_model").get_layer("embedding").get_weights()[0], weights.embeddings[-1])
    assert not np.array_equal(weights.embeddings[-1], weights.embeddings[-2])
    assert classify.load(tmp_path / "model").predict(["Great film!"])[0]["label"] in imdb.CLASS_NAMES


def test_a_refit_has_nothing_to_stop_early_or_checkpoint_by(tmp_path):
    kinds = {type(c).__name__ for c in callbacks.make_callbacks(Config(val_fraction=0.0), tmp_path)}
    assert "EarlyStopping" not in kinds and "ModelCheckpoint" not in kinds and "BackupAndRestore" in kinds
    kinds = {type(c).__name__ for c in callbacks.make_callbacks(Config(), tmp_path)}
    assert {"EarlyStopping", "ModelCheckpoint"} <= kinds


def test_val_fraction_is_zero_or_a_share_of_a_hundredth_to_a_half():
    assert Config(val_fraction=0.0).val_fraction == 0.0
    assert Config(val_fraction=0.01).val_fraction == 0.01
    for bad in (-0.1, 0.6):
        with pytest.raises(UserError, match="--val-fraction must be"):
            Config(val_fraction=bad)
    with pytest.raises(UserError, match=r"--val-fraction must be 0 \(a refit without validation\) or at least 0.01"):
        Config(val_fraction=0.005)
