"""One fold of one trial: train on the other folds' texts, validate on the fold's.

`fit_fold` is `training/loop.py`'s pipeline without the model directory: as `train`
does (`loop.fit_inputs`), it cuts the crops, fits the teacher, adapts the vocabulary on
the fold's training texts alone, keeps the frequent n-grams and batches the texts,
builds the model of the trial's config (`loop.build_model`), and fits it with
early stopping on the validation fold's loss. Its score is the validation accuracy of
the epoch that early stopping keeps (the lowest validation loss): the epoch `train`
would publish. The fold starts from `--seed` whatever ran before it, so a resumed
trial's folds are the ones an uninterrupted run gets.
"""
import contextlib
import io
import time
import warnings

import keras
import numpy as np

from sentiment_lstm.model import network, optimizer
from sentiment_lstm.training import loop


def fit_fold(config, train, validation, unlabeled=None):
    """Fit a model of `config` on the `train` texts, validated on `validation` (both
    labeled `Dataset`s); `unlabeled`: the teacher's texts, or None.

    Returns:
        `{"val_accuracy", "val_loss", "epoch" (kept, from 1), "epochs" (run),
        "seconds" (in Keras' fit), "parameters"}`.
    """
    keras.backend.clear_session()  # the last fold's models and names
    keras.utils.set_random_seed(config.seed)
    with contextlib.redirect_stdout(io.StringIO()):  # loop's stage lines: one a fold would drown the results
        inputs = loop.fit_inputs(config, train, validation, unlabeled)  # the vocabulary of the fold's texts
        train_ds, val_ds = inputs.train, inputs.validation
        model = loop.build_model(config, inputs.vectorizer, inputs.ngram_keys, train, unlabeled)
    callbacks = [*optimizer.learning_rate_callbacks(config), *optimizer.ema_callbacks(config),
                 keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                               restore_best_weights=True)]
    started = time.perf_counter()
    with warnings.catch_warnings():
        # The datasets' cardinality is unknown to Keras (see loop.fit): expected here.
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=callbacks,
                            verbose=0, shuffle=False).history
    seconds = time.perf_counter() - started
    kept = int(np.argmin(history["val_loss"]))
    return {"val_accuracy": float(history["val_accuracy"][kept]), "val_loss": float(history["val_loss"][kept]),
            "epoch": kept + 1, "epochs": len(history["val_loss"]), "seconds": round(seconds, 3),
            "parameters": network.trainable_parameters(model)}
