"""Step 4 of the pipeline: train the token model and publish the model directory.

`train(config)` is the one training pipeline. It reads the training split (never the
test split), carves a seeded validation split from it (or, with `--val-fraction 0`,
trains on all of it for the epochs an earlier run with validation chose), adapts the
vectorizer on the training texts only, builds the model, fits it, then publishes the
model directory (`export/publish.py`). `--distribute` picks how the fit runs: in one
process with Keras' `fit`, or under a `tf.distribute` strategy with the custom loop of
`distributed.py`; everything around the fit is the same code.

While it runs, everything lives in the work area `<model_dir>.work/` (`callbacks.py`),
deleted once the model directory is published. The lock file `<model_dir>.lock`
(`core/lock.py`) keeps a second run off the same model directory from the start of
`train` to the end of the publish (a multi-worker job's chief takes it to publish).
"""
import contextlib
import functools
import shutil
import sys
import time
import warnings
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from sentiment_lstm.core import background, layout, lock, progress
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import crops, sources
from sentiment_lstm.data.dataset import UNLABELED, Dataset, concatenate
from sentiment_lstm.export import publish
from sentiment_lstm.model import network, ngrams
from sentiment_lstm.text import pipeline, tokenizer
from sentiment_lstm.training import distributed, pretrain, teacher
from sentiment_lstm.training.callbacks import (
    BACKUP,
    BEST_WEIGHTS,
    Resumed,
    StepsKnown,
    make_callbacks,
    prepare_work_area,
)
from sentiment_lstm.training.history_files import read_history, report_kept, write_history

# Characters of training text from which the teacher fits in a second process: there
# it takes about 1.6 s to start (importing scikit-learn), what fitting about 4 MB takes.
BESIDE_FROM = 4_000_000


def train(config, callbacks=()):
    """Train a model with `config` and publish it to `config.output_dir`.

    It holds the model directory's lock (`lock.hold`) from the start, before any data
    is read, so a second run on the same directory stops at once. Each stage prints a
    line with its time; the fit prints its progress, and the end says which epoch
    was kept. Under `--distribute multi-worker` every worker runs this with the same
    config; only the chief writes the work area and publishes.

    Args:
        config: a `Config`.
        callbacks: extra Keras callbacks, run after the project's own (on every worker).

    Returns:
        The `keras.callbacks.History` of this call's epochs (after a resume, only
        the epochs run by this call; `history.json` in the model dir has all).

    Raises:
        UserError: a bad `TF_CONFIG`, workers resuming from different epochs, or a lost worker.
    """
    model_dir = layout.check_replaceable(config.output_dir)  # fail before the long part
    # The workers of a multi-worker job share the directory: the chief locks it to publish.
    hold = lock.hold(model_dir) if config.distribute != "multi-worker" else contextlib.nullcontext()
    with hold:
        set_threads(config.intra_op_threads)
        strategy = distributed.make_strategy(config.distribute)  # before any op: it sets up the cluster
        seed_everything(config.seed, config.deterministic)
        chief = distributed.is_chief(config)
        train, validation = read_data(config)
        unlabeled = unlabeled_texts(config, train)
        train_ds, val_ds, ngram_keys, cropped, vectorizer = fit_inputs(config, train, validation, unlabeled)
        if strategy is not None:  # this worker's share of every global batch
            train_ds, val_ds = (None if ds is None else distributed.distribute_batches(strategy, lambda ds=ds: ds)
                                for ds in (train_ds, val_ds))

        work = model_dir.with_name(f"{model_dir.name}.work")
        if chief:
            prepare_work_area(work, config)
        with strategy.scope() if strategy else contextlib.nullcontext():
            token_model = build_model(config, vectorizer, ngram_keys, train, unlabeled)
        if strategy is None:
            history = fit(token_model, train_ds, val_ds, config, work, callbacks)
        else:
            history = distributed.fit_under(strategy, token_model, train_ds, val_ds, config, work, chief, callbacks)
        if chief:
            started = time.perf_counter()
            publish_trained(model_dir, token_model, vectorizer, ngram_keys, config, work, strategy,
                            data=describe_data(train, validation, unlabeled, cropped))
            progress.stage(f"Published the model to {model_dir}", started)
        else:
            progress.stage(f"This worker's part is done; the chief publishes the model to {model_dir}")
        return history


class FitInputs(NamedTuple):
    """What `fit_inputs` prepares for a fit."""

    train: tf.data.Dataset  # the training batches
    validation: tf.data.Dataset | None  # the validation batches, or None
    ngram_keys: dict  # {n: the kept n-grams' keys} (`frequent_ngrams`)
    crops: int  # how many short crops the training batches hold
    vectorizer: keras.layers.TextVectorization  # the vocabulary


def fit_inputs(config, train, validation, unlabeled, vectorizer=None):
    """What a fit of `config` reads, from the `train` texts (`validation`: None, or the
    texts to validate on; `unlabeled`: the teacher's texts, or None): the crops, the
    vocabulary (`vectorizer`, or adapted here on the training texts), the kept n-grams,
    the teacher's soft targets and the batches. The texts are tokenized once, for the
    n-grams and the batches both; on enough text, the teacher fits in a second process
    meanwhile (`start_teacher`).

    Returns:
        A `FitInputs`.
    """
    taught, cropped = texts_to_fit(config, train, unlabeled)
    fit_texts = taught if cropped is None else concatenate(taught, cropped)
    targets = start_teacher(config, train, taught, cropped)
    if vectorizer is None:
        vectorizer = adapt_vocabulary(train, config)
    weights = pipeline.class_weights(train) if config.class_weight == "balanced" else None
    batches = dict(vectorizer=vectorizer, batch_size=config.batch_size, max_length=config.max_length,
                   seed=config.seed, bucket=config.bucket, class_weights=weights)
    started = time.perf_counter()
    tokens = tokenizer.tokenize(fit_texts.texts, vectorizer, config.max_length)
    val_ds = None if validation is None else pipeline.make_dataset(validation, **batches)
    progress.stage(f"Tokens of the {len(fit_texts):,} texts to fit on"
                   + ("" if validation is None else f" and the {len(validation):,} to validate on"), started)
    ngram_keys = frequent_ngrams(tokens[:len(taught)], vectorizer, config)
    soft = targets()
    started = time.perf_counter()
    train_ds = pipeline.make_dataset(fit_texts, shuffle=True, targets=soft, tokens=tokens, **batches)
    progress.stage(f"Batches per epoch: {train_ds.batches_per_epoch:,} for training"
                   + ("" if val_ds is None else f", {val_ds.batches_per_epoch:,} for validation"), started)
    return FitInputs(train_ds, val_ds, ngram_keys, len(fit_texts) - len(taught), vectorizer)


def build_model(config, vectorizer, ngram_keys, train, unlabeled):
    """The token model of `config` for `train`'s classes (`network.build_token_model`), its
    embedding started from PPMI-SVD vectors with `--pretrained-embeddings`."""
    token_model = network.build_token_model(vectorizer.vocabulary_size(), config, ngram_keys=ngram_keys,
                                            num_classes=train.num_classes)
    if config.pretrained_embeddings:
        token_model.get_layer("embedding").set_weights([pretrained_vectors(train, unlabeled, vectorizer, config)])
    return token_model


def fit(token_model, train_ds, val_ds, config, work, callbacks=()):
    """Keras' `fit` of `token_model` on the batches `train_ds` (validated on `val_ds`, or
    None) in this process, with the run's callbacks (`make_callbacks`) then `callbacks`."""
    own = make_callbacks(config, work)
    with warnings.catch_warnings():
        # The datasets' cardinality is unknown to Keras (see pipeline._length_batches), so
        # it learns it by running out of data at the end of the first epoch, and warns
        # about it: expected here.
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        history = token_model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                                  callbacks=[*own, Resumed(work / BACKUP), *callbacks,
                                             StepsKnown(train_ds.batches_per_epoch)],
                                  verbose=1 if sys.stdout.isatty() else 2,
                                  shuffle=False)  # make_dataset shuffles the training set
    report_kept(read_history(work / layout.HISTORY_CSV), config,
                next((c for c in own if isinstance(c, keras.callbacks.EarlyStopping)), None))
    return history


def publish_trained(model_dir, token_model, vectorizer, ngram_keys, config, work, strategy=None, data=None):
    """The end of `train`: the best epoch's weights (the checkpoint's: the best epoch may
    predate a restart, which EarlyStopping forgets), published with the history and the
    description of the `data` (`describe_data`; trained under a `strategy`, copied into
    a model built outside it first); then the work area is removed."""
    best = work / BEST_WEIGHTS
    if best.exists():
        token_model.load_weights(best)
    plain = token_model
    if strategy is not None:
        plain = network.build_token_model(vectorizer.vocabulary_size(), config, ngram_keys=ngram_keys,
                                          num_classes=len(data["classes"]))
        plain.set_weights(token_model.get_weights())
    end_to_end = network.build_end_to_end(plain, vectorizer, config.serve_length)
    publish.publish_model(model_dir, end_to_end, config, vectorizer.vocabulary_size(), list(data["classes"]),
                          data=data, add=lambda directory: write_history(directory, work))
    shutil.rmtree(work, ignore_errors=True)


def describe_data(train, validation, unlabeled, crops=0):
    """What the model directory's `config.json` records of the data a model learned from:
    its classes with their training counts, where each part came from and its size, and
    how many short crops it also learned from (`texts_to_fit`)."""
    return {"source": train.source, "classes": train.counts(), "train": len(train),
            "validation": None if validation is None else {"source": validation.source, "texts": len(validation)},
            "unlabeled": None if unlabeled is None else {"source": unlabeled.source, "texts": len(unlabeled)},
            "crops": crops}


def read_splits(config):
    """`(training texts, validation texts, vectorizer)`: `read_data` and the vocabulary
    adapted on the training texts alone (`adapt_vocabulary`)."""
    train, validation = read_data(config)
    return train, validation, adapt_vocabulary(train, config)


def read_data(config):
    """`(training texts, validation texts)`: the training split of `config.data`
    (`config.limit` of it) less the seeded validation split, or `config.val_data`
    (`sources.training_data`; None without validation)."""
    started = time.perf_counter()
    train, validation = sources.training_data(config)
    held = ("no validation" if validation is None else
            f"{len(validation):,} {'from ' + validation.source if config.val_data else 'held out'} for validation")
    progress.stage(f"Data: {train.source}: {len(train):,} texts of {train.num_classes} classes for training "
                   f"({train.describe_counts()}), {held}", started)
    return train, validation


def adapt_vocabulary(train, config):
    """The vectorizer of `config.max_tokens` tokens adapted on the `train` texts alone."""
    started = time.perf_counter()
    vectorizer = tokenizer.make_vectorizer(train.texts, max_tokens=config.max_tokens)
    progress.stage(f"Vocabulary: {vectorizer.vocabulary_size():,} tokens "
                   f"(at most {config.max_tokens:,}), from the training texts", started)
    return vectorizer


def unlabeled_texts(config, train):
    """The unlabeled texts a run learns from (`sources.unlabeled`), read once, or None
    when it needs none (no teacher, no pretrained vectors).

    Raises:
        UserError: a teacher needs some (it teaches no crops) and the data has none.
    """
    if config.teacher == "none" and not config.pretrained_embeddings:
        return None
    unlabeled = sources.unlabeled(config)
    if unlabeled is None and config.teacher != "none" and not config.crops:
        raise UserError(f"--teacher {config.teacher} teaches on unlabeled texts, and {train.source} holds none; "
                        "give --unlabeled PATH (a folder, a table's text column, or a file of one text per line).")
    return unlabeled


def texts_to_fit(config, train, unlabeled):
    """`(taught, cropped)`: the texts a fit of `config` reads whole, the `train` texts
    followed, with a teacher, by the `unlabeled` ones (or None); and the short crops of
    them (`cut_crops`), or None. The validation and test texts are not read."""
    teaching = config.teacher != "none"
    taught = train if unlabeled is None or not teaching else concatenate(train, unlabeled)
    return taught, cut_crops(taught, config, keep_unlabeled=teaching)


def start_teacher(config, train, taught, cropped):
    """Start fitting the teacher of `config` (`teacher.NBLR`) on the `train` texts, to give
    the texts that `texts_to_fit` adds to them, the unlabeled texts in `taught` and the
    crops `cropped` (or None), their class probabilities. On `BESIDE_FROM` characters of
    training text or more, it fits in another process (`core.background`), and the
    caller goes on meanwhile; below that, a process takes longer to start than the fit.

    Returns:
        A callable that waits for the teacher and returns the targets of `taught` then
        `cropped`: the training texts' one-hot labels, then the teacher's probabilities.
        It returns None without a teacher, or with nothing to teach (no unlabeled texts,
        and no crops: texts all a crop's length, as questions are); the texts' labels are
        their targets then.
    """
    if config.teacher == "none":
        return lambda: None
    texts = list(taught.texts[len(train):]) + ([] if cropped is None else list(cropped.texts))
    if not texts:
        progress.stage(f"Teacher: {config.teacher} not fitted; it has no unlabeled texts and no crops to teach")
        return lambda: None
    started = time.perf_counter()
    task = (teacher.taught_targets, list(train.texts), np.asarray(train.labels), train.num_classes, texts)
    beside = sum(map(len, train.texts)) >= BESIDE_FROM
    pending = background.start(*task) if beside else functools.partial(task[0], *task[1:])
    parts = ([f"{len(taught) - len(train):,} unlabeled texts"] if len(taught) > len(train) else []) + (
        [] if cropped is None else [f"{len(cropped):,} crops"])

    def targets():
        nonlocal started
        started = started if beside else time.perf_counter()  # in this process, the fit starts now
        soft = pending()
        progress.stage(f"Teacher: {config.teacher} fitted{' in a second process' if beside else ''} on the "
                       f"{len(train):,} training texts, soft targets for {' and '.join(parts)}", started)
        return np.concatenate([np.eye(train.num_classes, dtype=np.float32)[train.labels], soft])

    return targets


def cut_crops(texts, config, keep_unlabeled=True):
    """`config.crops` short crops of each of `texts` (`data/crops.py`), a `Dataset` labelled as
    their texts (`UNLABELED` for crops of unlabeled texts, left out unless `keep_unlabeled`:
    only a teacher targets them), or None: `--crops 0`, or every text a crop's length."""
    if not config.crops:
        return None
    started = time.perf_counter()
    cut, origin = crops.crops(texts.texts, config.crops, config.seed)  # origin: each crop's text
    if not keep_unlabeled:
        labeled = texts.labels[origin] != UNLABELED
        cut, origin = [text for text, keep in zip(cut, labeled) if keep], origin[labeled]
    if not cut:
        progress.stage("Crops: none; every text is short already", started)
        return None
    progress.stage(f"Crops: {len(cut):,} short crops of the texts", started)
    return Dataset(cut, texts.labels[origin], texts.class_names, texts.source)


def frequent_ngrams(tokens, vectorizer, config):
    """`{n: keys}` for each n-gram order `config` reads (`network.ngram_dims`): the keys of
    the n-grams in at least `ngrams.MIN_COUNT` rows of `tokens`, those of the texts fitted
    on whole (`ngrams.frequent`; with a teacher, the unlabeled texts too, never the
    validation ones)."""
    orders = network.ngram_dims(config)
    if not orders:
        return {}
    started = time.perf_counter()
    keys = {order: ngrams.frequent(tokens, vectorizer.vocabulary_size(), order=order) for order in orders}
    kept = ", ".join(f"{len(k):,} {order}-grams" for order, k in keys.items())
    progress.stage(f"N-grams kept (in at least {ngrams.MIN_COUNT} texts): {kept}", started)
    return keys


def pretrained_vectors(train, unlabeled, vectorizer, config):
    """PPMI-SVD word vectors `(vocabulary, embed_dim)` of the training texts plus the
    `unlabeled` ones, if any (`pretrain.py`); the validation and test texts are not read."""
    texts = list(train.texts) + ([] if unlabeled is None else list(unlabeled.texts))
    started = time.perf_counter()
    tokens = tokenizer.tokenize(texts, vectorizer, 2 * config.max_length).to_tensor().numpy()
    vectors = pretrain.ppmi_svd_vectors(tokens, vectorizer.vocabulary_size(), config.embed_dim, seed=config.seed)
    progress.stage(f"Pretrained vectors: PPMI-SVD, {vectors.shape[0]:,} x {vectors.shape[1]}, "
                   f"from {len(texts):,} texts", started)
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
