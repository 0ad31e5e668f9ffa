"""Batches for training: token ids of labeled texts, grouped by length, in tf.data."""
import numpy as np
import tensorflow as tf

from sentiment_lstm.core.checks import whole_number
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.text.tokenizer import tokenize

_NUM_BUCKETS = 10


def make_dataset(texts, vectorizer, batch_size=64, max_length=200, shuffle=False, seed=0,
                 bucket=True, targets=None, class_weights=None, tokens=None):
    """A batched tf.data pipeline of (token ids, one-hot labels or given class probabilities
    [, sample weights]).

    Texts are tokenized once, eagerly, in large batches, and clipped to their first
    `max_length` tokens; each epoch then only shuffles, groups and pads the stored ids. A text with
    no tokens becomes one padding step, i.e. a fully masked row.

    Args:
        texts: a labeled `data.dataset.Dataset`.
        vectorizer: the adapted layer from `tokenizer.make_vectorizer`.
        batch_size: texts per batch (the last batch of a bucket may be smaller).
        max_length: the most tokens kept per text.
        shuffle: reshuffle the texts each epoch, seeded with `seed`: the same seed
            gives the same sequence of batches.
        seed: shuffle seed.
        bucket: group texts of similar length (the batches of tf.data's
            `bucket_by_sequence_length`, see `_length_batches`: 10 buckets spread over
            1..max_length, each batch padded to its bucket's upper bound, so at most 10
            distinct batch shapes); else pad every batch to `max_length`.
        targets: optional float array `(len(texts), classes)`: each text's class
            probabilities (soft targets, `teacher.py`), used instead of its one-hot
            label; the texts may then be unlabeled.
        class_weights: optional float array `(classes,)` (`class_weights`): each text is
            weighted by its class's (a soft target's most probable class).
        tokens: the texts' token ids already (`tokenizer.tokenize(texts.texts, vectorizer,
            max_length)`), for a caller that reads them too; else they are tokenized here.

    Returns:
        A `tf.data.Dataset` of `(tokens, labels)`, or `(tokens, labels, weights)` with
        `class_weights`: tokens int32 (batch, time <= max_length), right-padded with 0;
        labels float32 (batch, classes), one-hot or `targets`; weights float32 (batch,).
        Its `batches_per_epoch` attribute is the number of batches in every epoch.

    Raises:
        UserError: no texts, unlabeled texts without targets, targets of another
            shape, or a non-positive size.
    """
    whole_number(batch_size, "batch_size")
    whole_number(max_length, "max_length")
    labels = np.asarray(texts.labels)
    classes = texts.num_classes
    if len(labels) == 0:
        raise UserError("There are no texts to build a dataset from.")
    if targets is None:
        if not ((0 <= labels) & (labels < classes)).all():
            raise UserError("Training and evaluation need labeled texts.")
        targets = np.eye(classes, dtype=np.float32)[labels]
    elif np.ndim(targets) != 2 or len(targets) != len(labels) or (classes and np.shape(targets)[1] != classes):
        raise UserError(f"Expected class probabilities of shape ({len(labels)}, {classes or 'classes'}), "
                        f"got {np.shape(targets)}.")
    if tokens is None:
        tokens = tokenize(texts.texts, vectorizer, max_length)
    elif tokens.nrows() != len(labels):
        raise ValueError(f"Expected the token ids of {len(labels)} texts, got {tokens.nrows()} rows.")
    boundaries = _bucket_boundaries(max_length) if bucket else [max_length + 1]  # one bucket: pad to max_length
    per_text = [tf.constant(targets, tf.float32)]
    if class_weights is not None:
        per_text.append(tf.constant(np.asarray(class_weights, np.float32)[np.argmax(targets, axis=1)]))
    batches = _length_batches(tokens, tuple(per_text), boundaries, batch_size, seed if shuffle else None)
    dataset = prefetched(batches)
    dataset.batches_per_epoch = batches.batches_per_epoch
    return dataset


def prefetched(batches):
    """`batches` with the next two ready while a step runs, and tf.data's autotuning off.

    With a buffer that autotuning sized (`tf.data.AUTOTUNE`), training sat idle for
    seconds at a time: the default recipe trained in 155-230 s of wall time against
    134-138 s with fixed buffers, for the same CPU time and the same model, its slow
    epochs 41-81 s against 26-31 s (docs/results.md). One such wait, caught in the act:
    the main thread deleting an epoch's iterator, waiting for its autotuning thread.
    Fixed buffers cost nothing here, where a batch is a gather of stored token ids (an
    epoch's batches alone: 0.2 s).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return batches.prefetch(2).with_options(options)


def class_weights(texts):
    """scikit-learn's "balanced" weight of each class of the labeled `texts`,
    `n / (classes * count)`, float32 `(classes,)`: every class then weighs as much in
    the loss as the others (a class without texts: 1).

    Example:

    >>> class_weights(Dataset.from_names(["a", "b", "c", "d"], ["x", "x", "x", "y"]))
    array([0.6666667, 2.       ], dtype=float32)
    """
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(texts.labels[texts.labels >= 0])
    weights = np.ones(texts.num_classes, np.float32)
    weights[present] = compute_class_weight("balanced", classes=present, y=texts.labels[texts.labels >= 0])
    return weights


def _length_batches(tokens, per_text, boundaries, batch_size, seed=None):
    """Batches of `(tokens, *per_text)` (each of `per_text` a tensor with a row per text)
    grouped by length: exactly those of
    `tf.data.Dataset.bucket_by_sequence_length(..., pad_to_bucket_boundary=True)` fed the
    reviews one by one, but formed for a whole epoch at once.

    Bucket k holds the reviews of `boundaries[k-1] <= length < boundaries[k]`, padded
    to `boundaries[k] - 1` steps; a bucket's batch is out as soon as it is full, the
    partly filled ones at the end, by bucket. The reviews arrive in a new random order
    each epoch (seeded by `seed`: the same seed gives the same epochs), or in their own
    order with `seed=None`. Done per review, the same grouping costs tf.data about as
    much CPU as a tenth of an epoch of the default model (measured: 9% slower epochs).

    Every epoch has the same number of batches, the sum over buckets of
    ceil(reviews in it / `batch_size`), whatever the order: the returned dataset's
    `batches_per_epoch`. Its cardinality stays unknown to tf.data on purpose: told it
    (`assert_cardinality`), Keras opens one more iterator at each epoch's end, and since
    each iterator draws the next epoch's order, every epoch after the first would get
    other batches than before (measured: the same first epoch, then other losses).
    """
    n = int(tokens.nrows())
    boundaries = tf.constant(boundaries, tf.int32)
    bucket = tf.searchsorted(boundaries, tf.cast(tokens.row_lengths(), tf.int32), side="right")
    per_bucket = np.bincount(bucket.numpy(), minlength=int(tf.size(boundaries)))
    batches_per_epoch = int(np.sum(-(-per_bucket // batch_size)))
    if seed is None:
        orders = tf.data.Dataset.from_tensors(tf.range(n))
    else:  # one random number per epoch, then a stateless shuffle from it
        orders = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1).map(
            lambda r: tf.random.experimental.stateless_shuffle(tf.range(n), seed=tf.stack([r, seed])))

    def epoch(order):
        """The epoch's batches, as rows of review indices, from the arrival `order`."""
        arriving = tf.gather(bucket, order)
        by_bucket = tf.argsort(arriving, stable=True)  # grouped by bucket, in arrival order
        grouped, grouped_bucket = tf.gather(order, by_bucket), tf.gather(arriving, by_bucket)
        counts = tf.math.bincount(arriving, minlength=tf.size(boundaries), dtype=tf.int32)
        rank = tf.range(n) - tf.gather(tf.cumsum(counts, exclusive=True), grouped_bucket)  # within bucket
        first_batch = tf.cumsum((counts + batch_size - 1) // batch_size, exclusive=True)
        batch = tf.gather(first_batch, grouped_bucket) + rank // batch_size
        batches = tf.reduce_sum((counts + batch_size - 1) // batch_size)
        # When each batch is out: at the arrival of its last review if full, else at the end.
        last_arrival = tf.math.unsorted_segment_max(by_bucket, batch, batches)
        size = tf.math.unsorted_segment_sum(tf.ones_like(batch), batch, batches)
        batch_bucket = tf.math.unsorted_segment_max(grouped_bucket, batch, batches)
        out_at = tf.where(size == batch_size, last_arrival, n + batch_bucket)
        rows = tf.RaggedTensor.from_value_rowids(grouped, batch, nrows=batches)
        return tf.data.Dataset.from_tensor_slices(tf.gather(rows, tf.argsort(out_at)))

    def gather(indices):
        width = boundaries[bucket[indices[0]]] - 1
        padded = tf.gather(tokens, indices).to_tensor(shape=tf.stack([tf.size(indices), width]))
        return (padded, *(tf.gather(values, indices) for values in per_text))

    dataset = orders.flat_map(epoch).map(gather)
    dataset.batches_per_epoch = batches_per_epoch
    return dataset


def _bucket_boundaries(max_length):
    """Upper bounds (exclusive) of the length buckets, spread evenly up to `max_length + 1`."""
    steps = np.linspace(0, max_length, _NUM_BUCKETS + 1)[1:]
    return sorted({int(round(s)) + 1 for s in steps if round(s) >= 1})
