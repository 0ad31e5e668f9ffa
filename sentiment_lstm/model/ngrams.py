"""N-grams beside words: `--bigram-dim` (and `--trigram-dim`) give the recurrent layer,
at each step, a learned vector of the step's bigram (the token before it and itself;
the trigram: the two before it and itself) next to the word's embedding, as fastText
adds n-grams to its bag of words (Joulin et al. 2017).

The step still reads one token; its input just also says which phrase the token
ends ("not good", "not at all"), the evidence NB-LR (`teacher.py`) weighs best, so the
LSTM need not compose it from word vectors. The n-grams kept are those of at least
`MIN_COUNT` of the texts trained on. An n-gram of token ids (t_1, ..., t_n) is keyed
in base V, V the vocabulary size: the bigram (a, b) is a * V + b, the trigram (a, b, c)
is (a * V + b) * V + c, with 0 for the places before a review's first token.
"""
import keras
import numpy as np
from keras import ops

MIN_COUNT = 3  # texts an n-gram must be in to get its own vector
ORDERS = {2: "bigram", 3: "trigram"}  # the n-grams a model can read, by order n


def step_keys(tokens, vocabulary_size, order=2):
    """`(rows, ids, keys)` of each step of token-id rows (a RaggedTensor), padding (id 0,
    the one step of a review without tokens) left out: its row, its token id and the
    key of the n-gram of `order` tokens it ends.

    Example:

    >>> step_keys(tf.ragged.constant([[2, 3], [0], [4]]), 10)[2]
    array([ 2, 23,  4])
    >>> step_keys(tf.ragged.constant([[2, 3, 5]]), 10, order=3)[2]
    array([  2,  23, 235])
    """
    rows = tokens.value_rowids().numpy().astype(np.int64)
    ids = tokens.flat_values.numpy().astype(np.int64)
    place = np.arange(len(ids)) - tokens.row_starts().numpy()[rows]  # of each step in its row
    keys = np.zeros_like(ids)
    for back in range(order - 1, -1, -1):  # the token `back` steps earlier: a digit of the key
        keys = keys * vocabulary_size + np.where(place >= back, np.roll(ids, back), 0)
    kept = ids != 0
    return rows[kept], ids[kept], keys[kept]


def once_per_row(rows, keys):
    """`(keys, rows)` of the distinct (row, key) pairs, sorted by key: each key once per
    row that has it, for document frequencies."""
    order = np.lexsort((rows, keys))
    rows, keys = rows[order], keys[order]
    first = np.ones(len(keys), bool)  # the first of each run of equal pairs
    first[1:] = (keys[1:] != keys[:-1]) | (rows[1:] != rows[:-1])
    return keys[first], rows[first]


def frequent(tokens, vocabulary_size, min_count=MIN_COUNT, order=2):
    """The sorted keys of the n-grams of `order` tokens in at least `min_count` rows of
    `tokens` (token-id rows, a RaggedTensor), each counted once per row.

    Example:

    >>> frequent(tf.ragged.constant([[2, 3], [2, 3, 3], [3]]), 10, min_count=2)
    array([ 2, 23])
    """
    rows, _, keys = step_keys(tokens, vocabulary_size, order)
    key, count = np.unique(once_per_row(rows, keys)[0], return_counts=True)
    return key[count >= min_count]


def lookup(keys, tokens, vocabulary_size, order=2):
    """Token ids `(batch, time)` -> for each step, 1 + the place of the key of the n-gram
    of `order` tokens it ends in the sorted `keys` (`frequent`), or 0 where that n-gram
    is not among them.

    Example:

    >>> lookup(np.array([2, 23]), np.array([[2, 3, 5, 0]]), 10)   # (start, 2), (2, 3), (3, 5), (5, 0)
    <tf.Tensor: shape=(1, 4), dtype=int64, numpy=array([[1, 2, 0, 0]])>
    """
    tokens = ops.cast(tokens, "int64")
    if ops.shape(keys)[0] == 0:
        return ops.zeros_like(tokens)
    key = keys_of(tokens, vocabulary_size, order)
    at = ops.minimum(ops.searchsorted(keys, ops.reshape(key, [-1])), ops.shape(keys)[0] - 1)
    at = ops.reshape(ops.cast(at, "int64"), ops.shape(key))
    return ops.where(ops.take(keys, at) == key, at + 1, 0)


def keys_of(tokens, vocabulary_size, order=2):
    """Token ids `(batch, time)` -> the int64 key of the n-gram of `order` tokens each
    step ends (the module's text), 0 standing for the places before the first token.

    Example:

    >>> keys_of(np.array([[2, 3, 5, 0]]), 10)
    <tf.Tensor: shape=(1, 4), dtype=int64, numpy=array([[ 2, 23, 35, 50]])>
    """
    tokens = ops.cast(tokens, "int64")
    padded = ops.pad(tokens, [[0, 0], [order - 1, 0]])  # 0 before the first token
    key = ops.zeros_like(tokens)
    for back in range(order - 1, -1, -1):  # the token `back` steps earlier: a digit of the key
        key = key * vocabulary_size + padded[:, order - 1 - back:(-back or None)]
    return key


def first_occurrences(tokens, vocabulary_size, order=1):
    """Token ids `(batch, time)` -> bool `(batch, time)`: whether the n-gram of `order`
    tokens each step ends (order 1: its word) occurs there for the first time in its row;
    False at repeats and at padding (id 0). The n-grams of a row are sorted by key
    (`keys_of`), each one's first place in the sort marked, and the marks put back in
    the steps' order.

    Example:

    >>> first_occurrences(np.array([[2, 3, 2, 3, 0]]), 10)
    <tf.Tensor: shape=(1, 5), dtype=bool, numpy=array([[ True,  True, False, False, False]])>
    >>> first_occurrences(np.array([[2, 3, 2, 3, 0]]), 10, order=2)   # (start, 2), (2, 3), (3, 2), (2, 3)
    <tf.Tensor: shape=(1, 5), dtype=bool, numpy=array([[ True,  True,  True, False, False]])>
    """
    tokens = ops.cast(tokens, "int64")
    key = tokens if order == 1 else keys_of(tokens, vocabulary_size, order)
    order_of = ops.argsort(key, axis=1)  # tf.argsort: stable (equal keys keep their steps' order), TF's only sort
    ranked = ops.take_along_axis(key, order_of, axis=1)
    first = ops.concatenate([ops.ones_like(ranked[:, :1], dtype="bool"),
                             ops.not_equal(ranked[:, 1:], ranked[:, :-1])], axis=1)
    first = ops.take_along_axis(first, ops.argsort(order_of, axis=1), axis=1)  # back in the steps' order
    return ops.logical_and(first, ops.not_equal(tokens, 0))


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class OncePerText(keras.layers.Layer):
    """`--linear-once`: a linear path's step weights `(batch, time, classes)` kept at the
    first step of each n-gram of `order` tokens in its text and zeroed at its repeats
    (`first_occurrences`), so that their sum counts each n-gram once: presence, not
    counts, as NB-LR's indicators. The n-grams without a weight of their own (row 0 of
    an `NgramEmbedding`) are told apart by their keys, so their shared weight is added
    once per distinct one; the OOV word's once per text.

    Called on `[steps, tokens]`, token ids `(batch, time)`, 0 for padding.

    Example:

    >>> steps = np.ones((1, 4, 2), "float32")
    >>> OncePerText(10)([steps, np.array([[2, 2, 5, 0]])]).numpy()[0, :, 0]
    array([1., 0., 1., 0.], dtype=float32)
    """

    def __init__(self, vocabulary_size, order=1, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.order = int(order)

    def call(self, inputs):
        steps, tokens = inputs
        first = first_occurrences(tokens, self.vocabulary_size, self.order)
        return steps * ops.expand_dims(ops.cast(first, steps.dtype), -1)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs[1], 0)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "order": self.order}


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class NgramEmbedding(keras.layers.Layer):
    """Token ids `(batch, time)` -> `(batch, time, output_dim)`: each step's vector of the
    n-gram of `order` tokens it ends, one shared vector for the n-grams not kept.

    The kept n-grams' sorted keys (`frequent`) are a weight of the layer, so they are
    saved and exported with the model; `set_keys` fills them once, before training.
    Padding (id 0) is masked, as by `keras.layers.Embedding(mask_zero=True)`.

    Args:
        vocabulary_size: V of the keys, n-grams written in base V.
        ngrams: how many n-grams are kept.
        output_dim: size of each n-gram's vector.
        order: n, the tokens of each n-gram (2: bigrams, 3: trigrams).
        embeddings_initializer: of the vectors, as for `keras.layers.Embedding`.

    Example:

    >>> layer = NgramEmbedding(10, ngrams=2, output_dim=4)
    >>> layer.set_keys(np.array([2, 23]))
    >>> layer(np.array([[2, 3, 5, 0]])).shape   # (start, 2), (2, 3), (3, 5) not kept, padding
    TensorShape([1, 4, 4])
    """

    def __init__(self, vocabulary_size, ngrams, output_dim, order=2, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        if vocabulary_size ** order >= 2 ** 63:
            raise ValueError(f"n-grams of {order} tokens of a vocabulary of {vocabulary_size} do not fit "
                             "int64 keys; use a smaller vocabulary.")
        self.vocabulary_size, self.ngrams, self.output_dim, self.order = vocabulary_size, ngrams, output_dim, order
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        self.keys = self.add_weight(shape=(self.ngrams,), dtype="int64", initializer="zeros",
                                    trainable=False, name="keys")
        self.embeddings = self.add_weight(shape=(self.ngrams + 1, self.output_dim),
                                          initializer=self.embeddings_initializer, name="embeddings")

    def set_keys(self, keys):
        """Set the kept n-grams' keys (sorted, as `frequent` returns them)."""
        keys = np.asarray(keys, dtype=np.int64)
        if keys.shape != (self.ngrams,) or np.any(np.diff(keys) <= 0):
            raise ValueError(f"`keys` must be {self.ngrams} increasing keys. Received shape {keys.shape}.")
        if not self.built:
            self.build(None)
        self.keys.assign(keys)

    def index(self, tokens):
        """Each step's row of `embeddings` (`lookup`)."""
        return lookup(self.keys, tokens, self.vocabulary_size, self.order)

    def call(self, tokens):
        return ops.take(self.embeddings, self.index(tokens), axis=0)

    def compute_mask(self, tokens, mask=None):
        return ops.not_equal(tokens, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "ngrams": self.ngrams,
                "output_dim": self.output_dim, "order": self.order,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer)}
