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
import shutil
import sys
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from sentiment_lstm.core import layout, lock, progress
from sentiment_lstm.data import imdb, sources
from sentiment_lstm.data.dataset import Reviews
from sentiment_lstm.export import publish
from sentiment_lstm.model import network, ngrams
from sentiment_lstm.text import pipeline, tokenizer
from sentiment_lstm.training import distributed, pretrain, teacher
from sentiment_lstm.training.callbacks import BACKUP, BEST_WEIGHTS, Resumed, StepsKnown, make_callbacks, prepare_work_area
from sentiment_lstm.training.history_files import read_history, report_kept, write_history


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
        source, train_reviews, val_reviews, vectorizer = read_splits(config)
        fit_reviews, targets = taught_reviews(source, train_reviews, config)

        batches = dict(vectorizer=vectorizer, batch_size=config.batch_size, max_length=config.max_length,
                       seed=config.seed, bucket=config.bucket)
        started = time.perf_counter()
        train_ds = pipeline.make_dataset(fit_reviews, shuffle=True, targets=targets, **batches)
        val_ds = None if val_reviews is None else pipeline.make_dataset(val_reviews, **batches)
        progress.stage(f"Batches per epoch: {train_ds.batches_per_epoch:,} for training"
                       + ("" if val_ds is None else f", {val_ds.batches_per_epoch:,} for validation"), started)
        if strategy is not None:  # this worker's share of every global batch
            train_ds, val_ds = (None if ds is None else distributed.distribute_batches(strategy, lambda ds=ds: ds)
                                for ds in (train_ds, val_ds))

        work = model_dir.with_name(f"{model_dir.name}.work")
        if chief:
            prepare_work_area(work, config)
        ngram_keys = frequent_ngrams(fit_reviews, vectorizer, config)
        with strategy.scope() if strategy else contextlib.nullcontext():
            token_model = network.build_token_model(vectorizer.vocabulary_size(), config, ngram_keys=ngram_keys)
            if config.pretrained_embeddings:
                vectors = pretrained_vectors(source, train_reviews, vectorizer, config)
                token_model.get_layer("embedding").set_weights([vectors])
        if strategy is None:
            history = fit(token_model, train_ds, val_ds, config, work, callbacks)
        else:
            history = distributed.fit_under(strategy, token_model, train_ds, val_ds, config, work, chief, callbacks)
        if chief:
            started = time.perf_counter()
            publish_trained(model_dir, token_model, vectorizer, ngram_keys, config, work, strategy)
            progress.stage(f"Published the model to {model_dir}", started)
        else:
            progress.stage(f"This worker's part is done; the chief publishes the model to {model_dir}")
        return history


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


def publish_trained(model_dir, token_model, vectorizer, ngram_keys, config, work, strategy=None):
    """The end of `train`: the best epoch's weights (the checkpoint's: the best epoch may
    predate a restart, which EarlyStopping forgets), published with the history (trained
    under a `strategy`, copied into a model built outside it first); then the work area
    is removed."""
    best = work / BEST_WEIGHTS
    if best.exists():
        token_model.load_weights(best)
    plain = token_model
    if strategy is not None:
        plain = network.build_token_model(vectorizer.vocabulary_size(), config, ngram_keys=ngram_keys)
        plain.set_weights(token_model.get_weights())
    end_to_end = network.build_end_to_end(plain, vectorizer, config.serve_length)
    publish.publish_model(model_dir, end_to_end, config, vectorizer.vocabulary_size(),
                          add=lambda directory: write_history(directory, work))
    shutil.rmtree(work, ignore_errors=True)


def read_splits(config):
    """`(source, training reviews, validation reviews, vectorizer)`: the training split
    (`config.limit` of it) less the seeded validation split (None with `val_fraction` 0),
    and the vocabulary adapted on the training reviews alone."""
    started = time.perf_counter()
    source = imdb.resolve_source(config.data)
    train_reviews, val_reviews = sources.training_splits(source, config.limit, config.val_fraction, config.seed)
    held = "no validation" if val_reviews is None else f"{len(val_reviews):,} held out for validation"
    progress.stage(f"Data: {source}: {len(train_reviews):,} reviews for training, {held}", started)
    started = time.perf_counter()
    vectorizer = tokenizer.make_vectorizer(train_reviews.texts, max_tokens=config.max_tokens)
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
    unlabeled = imdb.load_reviews(source, "unsup", limit=config.limit, seed=config.seed)
    started = time.perf_counter()
    nb_lr = teacher.NBLR(train_reviews.texts, train_reviews.labels)
    targets = np.concatenate([np.eye(2, dtype=np.float32)[train_reviews.labels],
                              teacher.soft_targets(nb_lr.log_odds(unlabeled.texts))])
    reviews = Reviews(list(train_reviews.texts) + list(unlabeled.texts),
                           np.concatenate([train_reviews.labels, unlabeled.labels]))
    progress.stage(f"Teacher: {config.teacher} fitted on the training reviews, soft targets for "
                   f"{len(unlabeled):,} unlabeled reviews", started)
    return reviews, targets


def frequent_ngrams(reviews, vectorizer, config):
    """`{n: keys}` for each n-gram order `config` reads (`network.ngram_dims`): the keys of
    the n-grams in at least `ngrams.MIN_COUNT` of the `reviews` fitted on (`ngrams.frequent`;
    with a teacher, the unlabeled reviews too, never the validation ones)."""
    orders = network.ngram_dims(config)
    if not orders:
        return {}
    started = time.perf_counter()
    tokens = tokenizer.tokenize(reviews.texts, vectorizer, config.max_length)
    keys = {order: ngrams.frequent(tokens, vectorizer.vocabulary_size(), order=order) for order in orders}
    kept = ", ".join(f"{len(k):,} {order}-grams" for order, k in keys.items())
    progress.stage(f"N-grams kept (in at least {ngrams.MIN_COUNT} reviews): {kept}", started)
    return keys


def pretrained_vectors(source, train_reviews, vectorizer, config):
    """PPMI-SVD word vectors `(vocabulary, embed_dim)` of the training reviews plus the
    unlabeled ones (`pretrain.py`); the validation and test reviews are not read."""
    unlabeled = imdb.load_reviews(source, "unsup", limit=config.limit, seed=config.seed)
    texts = list(train_reviews.texts) + list(unlabeled.texts)
    started = time.perf_counter()
    tokens = tokenizer.tokenize(texts, vectorizer, 2 * config.max_length).to_tensor().numpy()
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
