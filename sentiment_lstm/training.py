"""Step 4 of the pipeline: train the token model and publish the model directory.

`train(config)` reads the training split (never the test split), carves a seeded
validation split from it (or, with `--val-fraction 0`, trains on all of it for the
epochs an earlier run with validation chose), adapts the vectorizer on the training
texts only, fits with Keras callbacks, then exports through `export.publish_dir`.

While it runs, everything lives in the work area `<model_dir>.work/`:

    backup/             BackupAndRestore: a killed run, started again with the same
                        config, resumes after its last completed epoch (the backup is
                        written first at an epoch's end, so a kill in the instant
                        before that epoch's checkpoint and row loses those two)
    best.weights.h5     ModelCheckpoint of the best val_loss so far (across restarts)
    history.csv         CSVLogger, appended to on resume: one row per epoch
    logs/               TensorBoard
    config.json         the config of the run, to tell whether a backup is resumable

The work area is deleted once the model directory is published. The lock file
`<model_dir>.lock` (`lock.py`) keeps a second run off the same model directory
from the start of `train` to the end of the publish.
"""
import csv
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sentiment_lstm import data, export, lock, model, ngrams, pretrain, progress, teacher, text

HISTORY_CSV, HISTORY_JSON, CURVES_PNG, LOGS_DIR = export.HISTORY_FILES  # what `write_history` adds
MONITOR = "val_loss"


def train(config, callbacks=()):
    """Train a model with `config` and publish it to `config.output_dir`.

    It holds the model directory's lock (`lock.hold`) from the start, before any data
    is read, so a second run on the same directory stops at once. Each stage prints a
    line with its time; the fit prints Keras' progress, and the end says which epoch
    was kept.

    Args:
        config: a `Config`.
        callbacks: extra Keras callbacks, run after the project's own.

    Returns:
        The `keras.callbacks.History` of this call's `fit` (after a resume, only
        the epochs run by this call; `history.json` in the model dir has all).
    """
    if config.distribute != "none":  # under tf.distribute: the same steps, in a loop of its own
        from sentiment_lstm import distributed

        return distributed.train(config, callbacks)
    model_dir = export.check_replaceable(config.output_dir)  # fail before the long part
    with lock.hold(model_dir):
        return _train(model_dir, config, callbacks)


def _train(model_dir, config, callbacks):
    set_threads(config.intra_op_threads)
    seed_everything(config.seed, config.deterministic)
    source, train_reviews, val_reviews, vectorizer = read_splits(config)
    fit_reviews, targets = taught_reviews(source, train_reviews, config)
    batches = dict(vectorizer=vectorizer, batch_size=config.batch_size, max_length=config.max_length,
                   seed=config.seed, bucket=config.bucket)
    started = time.perf_counter()
    train_ds = text.make_dataset(fit_reviews, shuffle=True, targets=targets, **batches)
    val_ds = None if val_reviews is None else text.make_dataset(val_reviews, **batches)
    progress.stage(f"Batches per epoch: {train_ds.batches_per_epoch:,} for training"
                   + ("" if val_ds is None else f", {val_ds.batches_per_epoch:,} for validation"), started)

    work = prepare_work_area(model_dir.with_name(f"{model_dir.name}.work"), config)
    ngram_keys = frequent_ngrams(fit_reviews, vectorizer, config)
    token_model = model.build_token_model(vectorizer.vocabulary_size(), config, ngram_keys=ngram_keys)
    if config.pretrained_embeddings:
        vectors = pretrained_vectors(source, train_reviews, vectorizer, config)
        token_model.get_layer("embedding").set_weights([vectors])
    own = make_callbacks(config, work)
    with warnings.catch_warnings():
        # The datasets' cardinality is unknown to Keras (see text._length_batches), so
        # it learns it by running out of data at the end of the first epoch, and warns
        # about it: expected here.
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        history = token_model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                                  callbacks=[*own, Resumed(work / "backup"), *callbacks,
                                             StepsKnown(train_ds.batches_per_epoch)],
                                  verbose=1 if sys.stdout.isatty() else 2,
                                  shuffle=False)  # make_dataset shuffles the training set
    report_kept(read_history(work / HISTORY_CSV), config,
                next((c for c in own if isinstance(c, keras.callbacks.EarlyStopping)), None))
    best = work / "best.weights.h5"
    if best.exists():  # the best epoch may predate a restart, which EarlyStopping forgets
        token_model.load_weights(best)
    started = time.perf_counter()
    end_to_end = model.build_end_to_end(token_model, vectorizer, config.serve_length)
    export.publish_model(model_dir, end_to_end, config, vectorizer.vocabulary_size(),
                         add=lambda directory: write_history(directory, work))
    shutil.rmtree(work, ignore_errors=True)
    progress.stage(f"Published the model to {model_dir}", started)
    return history


class StepsKnown(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, told the steps per epoch that the dataset cannot tell it
    (`text.make_dataset`), so even the first epoch shows `k/steps` and a time left."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def set_params(self, params):
        super().set_params({**params, "steps": params.get("steps") or self.steps})


class Resumed(keras.callbacks.Callback):
    """Says so when `fit` starts after epoch 1, i.e. BackupAndRestore resumed a run."""

    def __init__(self, backup):
        super().__init__()
        self.backup, self.first = backup, True

    def on_epoch_begin(self, epoch, logs=None):
        if self.first and epoch > 0:
            progress.stage(f"Resuming after epoch {epoch} from {self.backup}")
        self.first = False


def kept_epoch(history):
    """The index of the epoch whose weights are published: the lowest `val_loss`, or
    the last epoch without validation; None for an empty history."""
    if MONITOR in history:
        return int(np.argmin(history[MONITOR]))
    return len(history["epoch"]) - 1 if history.get("epoch") else None


def report_kept(history, config, early_stopping=None):
    """Print how the fit ended and which epoch is kept (`kept_epoch`)."""
    kept = kept_epoch(history)
    if kept is None:
        return
    ran = len(history["epoch"])
    if MONITOR not in history:
        progress.stage(f"Trained {ran} of {config.epochs} epochs: kept the last, epoch {kept + 1}.")
        return
    how = (f"Stopped after epoch {ran} of {config.epochs} (no lower {MONITOR} for {config.patience} epochs)"
           if early_stopping is not None and early_stopping.stopped_epoch > 0
           else f"Trained {ran} of {config.epochs} epochs")
    progress.stage(f"{how}: kept epoch {kept + 1}, {MONITOR} {history[MONITOR][kept]:.4f}.")


def read_splits(config):
    """`(source, training reviews, validation reviews, vectorizer)`: the training split
    (`config.limit` of it) less the seeded validation split (None with `val_fraction` 0),
    and the vocabulary adapted on the training reviews alone."""
    started = time.perf_counter()
    source = data.resolve_source(config.data)
    train_reviews, val_reviews = data.training_splits(source, config.limit, config.val_fraction, config.seed)
    held = "no validation" if val_reviews is None else f"{len(val_reviews):,} held out for validation"
    progress.stage(f"Data: {source}: {len(train_reviews):,} reviews for training, {held}", started)
    started = time.perf_counter()
    vectorizer = text.make_vectorizer(train_reviews.texts, max_tokens=config.max_tokens)
    progress.stage(f"Vocabulary: {vectorizer.vocabulary_size():,} tokens "
                   f"(at most {config.max_tokens:,}), from the training reviews", started)
    return source, train_reviews, val_reviews, vectorizer


def taught_reviews(source, train_reviews, config):
    """The reviews to fit on and their soft targets: `(train_reviews, None)`, or with
    `config.teacher`, the training reviews (one-hot) followed by the unlabeled ones with
    the class probabilities of the teacher fitted on the training reviews (`teacher.py`).
    The validation and test reviews are not read."""
    if config.teacher == "none":
        return train_reviews, None
    unlabeled = data.load_reviews(source, "unsup", limit=config.limit, seed=config.seed)
    started = time.perf_counter()
    nb_lr = teacher.NBLR(train_reviews.texts, train_reviews.labels)
    targets = np.concatenate([np.eye(2, dtype=np.float32)[train_reviews.labels],
                              teacher.soft_targets(nb_lr.log_odds(unlabeled.texts))])
    reviews = data.Reviews(list(train_reviews.texts) + list(unlabeled.texts),
                           np.concatenate([train_reviews.labels, unlabeled.labels]))
    progress.stage(f"Teacher: {config.teacher} fitted on the training reviews, soft targets for "
                   f"{len(unlabeled):,} unlabeled reviews", started)
    return reviews, targets


def frequent_ngrams(reviews, vectorizer, config):
    """`{n: keys}` for each n-gram order `config` reads (`model.ngram_dims`): the keys of
    the n-grams in at least `ngrams.MIN_COUNT` of the `reviews` fitted on (`ngrams.frequent`;
    with a teacher, the unlabeled reviews too, never the validation ones)."""
    orders = model.ngram_dims(config)
    if not orders:
        return {}
    started = time.perf_counter()
    tokens = text.tokenize(reviews.texts, vectorizer, config.max_length)
    keys = {order: ngrams.frequent(tokens, vectorizer.vocabulary_size(), order=order) for order in orders}
    kept = ", ".join(f"{len(k):,} {order}-grams" for order, k in keys.items())
    progress.stage(f"N-grams kept (in at least {ngrams.MIN_COUNT} reviews): {kept}", started)
    return keys


def pretrained_vectors(source, train_reviews, vectorizer, config):
    """PPMI-SVD word vectors `(vocabulary, embed_dim)` of the training reviews plus the
    unlabeled ones (`pretrain.py`); the validation and test reviews are not read."""
    unlabeled = data.load_reviews(source, "unsup", limit=config.limit, seed=config.seed)
    texts = list(train_reviews.texts) + list(unlabeled.texts)
    started = time.perf_counter()
    tokens = text.tokenize(texts, vectorizer, 2 * config.max_length).to_tensor().numpy()
    vectors = pretrain.ppmi_svd_vectors(tokens, vectorizer.vocabulary_size(), config.embed_dim, seed=config.seed)
    progress.stage(f"Pretrained vectors: PPMI-SVD, {vectors.shape[0]:,} x {vectors.shape[1]}, "
                   f"from {len(texts):,} reviews", started)
    return vectors


def seed_everything(seed, deterministic=True):
    """Seed Python, NumPy and TensorFlow; with `deterministic`, make TF ops reproducible."""
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def set_threads(intra_op):
    """Let each TensorFlow op use `intra_op` threads (0: TensorFlow's default, all cores).

    With 1, an op runs on one core and TensorFlow runs two ops at once (its inter-op
    threads, one per core): the LSTM's recurrence, a chain of small ops, keeps one core
    and the work that does not wait for it (`packed.py`) takes the other, instead of
    every small op being split over both. It has to be set before TensorFlow runs its
    first op; later (a second `train` in one process) it stays as it was, with a warning.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    except RuntimeError:
        current = tf.config.threading.get_intra_op_parallelism_threads()
        warnings.warn(f"TensorFlow already runs with intra_op_threads={current}; "
                      f"intra_op_threads={intra_op} applies only to a new process.", stacklevel=2)


def prepare_work_area(work, config):
    """Create `work`, first discarding what an interrupted run with another config left."""
    saved = work / export.CONFIG_FILE
    if saved.exists() and saved.read_text() != config.to_json():
        print(f"Discarding the interrupted run in {work}: it used different settings.")
        shutil.rmtree(work)
    if not (work / "backup").exists():  # nothing to resume: start the logs afresh
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    saved.write_text(config.to_json())
    return work


def make_callbacks(config, work):
    """BackupAndRestore, [LearningRateScheduler,] [SwapEMAWeights,] EarlyStopping,
    ModelCheckpoint, CSVLogger and TensorBoard.

    The backup comes first: it keeps the weights that training goes on from, and with
    `--ema-momentum`, `SwapEMAWeights` then puts the averaged ones in for the callbacks
    after it, which choose, restore and save the weights that are published. Without a
    validation split (`val_fraction` 0) there is nothing to choose by: no early stopping
    and no checkpoint, and the last epoch's weights are published.
    """
    history = read_history(work / HISTORY_CSV)
    best_so_far = min(history.get(MONITOR, []), default=None)
    choosing = [
        keras.callbacks.EarlyStopping(monitor=MONITOR, patience=config.patience,
                                      restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(work / "best.weights.h5"), monitor=MONITOR,
                                        save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=best_so_far),
    ] if config.val_fraction else []
    return [
        keras.callbacks.BackupAndRestore(str(work / "backup"), double_checkpoint=True),
        *model.learning_rate_callbacks(config),
        *model.ema_callbacks(config),
        *choosing,
        keras.callbacks.CSVLogger(str(work / HISTORY_CSV), append=True),
        keras.callbacks.TensorBoard(str(work / LOGS_DIR)),
    ]


def read_history(csv_path):
    """{metric: [value per epoch]} from a CSVLogger file (without the columns it fills with
    "NA"); {} when there is none."""
    if not Path(csv_path).exists():
        return {}
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    # CSVLogger writes "NA" in the val_ columns of a run without validation: left out
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})
            if any(row[key] != "NA" for row in rows)}


def write_history(directory, work):
    """Copy the CSV and TensorBoard logs from `work`; add `history.json` and the curves PNG."""
    directory = Path(directory)
    shutil.copy(work / HISTORY_CSV, directory / HISTORY_CSV)
    shutil.copytree(work / LOGS_DIR, directory / LOGS_DIR)
    history = read_history(work / HISTORY_CSV)
    (directory / HISTORY_JSON).write_text(json.dumps(history, indent=2))
    plot_history(history, directory / CURVES_PNG)


def plot_history(history, path):
    """Save loss and accuracy per epoch, training and (if any) validation, as a PNG: whole
    epochs on the x axis, and a dashed line at the epoch kept (`kept_epoch`); returns the
    matplotlib `Figure`."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 4), layout="constrained")
    epochs = [int(e) + 1 for e in history["epoch"]]
    kept = kept_epoch(history)
    for ax, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        ax.plot(epochs, history[metric], "o-", label="training")
        if f"val_{metric}" in history:  # none in a refit without validation
            ax.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
        if kept is not None:
            ax.axvline(epochs[kept], color="gray", linestyle="--", label=f"kept: epoch {epochs[kept]}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.legend()
    figure.savefig(path, dpi=100)
    return figure
