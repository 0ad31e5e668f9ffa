"""Bigrams beside words: `--bigram-dim` gives the recurrent layer, at each step, a
learned vector of the step's bigram (the token before it and itself) next to the
word's embedding, as fastText adds bigrams to its bag of words (Joulin et al. 2017).

The step still reads one token; its input just also says which two-word phrase
the token ends ("not good", "at all"), the evidence NB-LR (`teacher.py`) weighs
best, so the LSTM need not compose it from two word vectors. The bigrams kept are
those of at least `MIN_COUNT` of the texts trained on; a bigram (a, b) of token ids is keyed
a * V + b, V the vocabulary size, with a = 0 before a review's first token.
"""
import keras
import numpy as np
from keras import ops

MIN_COUNT = 3  # texts a bigram must be in to get its own vector


def step_keys(tokens, vocabulary_size):
    """`(rows, ids, keys)` of each step of token-id rows (a RaggedTensor), padding (id 0,
    the one step of a review without tokens) left out: its row, its token id and its
    bigram's key previous * V + id.

    Example:

    >>> step_keys(tf.ragged.constant([[2, 3], [0], [4]]), 10)[2]
    array([ 2, 23,  4])
    """
    rows = tokens.value_rowids().numpy().astype(np.int64)
    ids = tokens.flat_values.numpy().astype(np.int64)
    previous = np.where(np.r_[True, rows[1:] != rows[:-1]], 0, np.r_[0, ids[:-1]])
    kept = ids != 0
    return rows[kept], ids[kept], (previous * vocabulary_size + ids)[kept]


def once_per_row(rows, keys, vocabulary_size):
    """`(keys, rows)` of the distinct (row, key) pairs, bigram keys (< V^2) or token ids:
    each key once per row that has it, for document frequencies."""
    unique = np.unique(rows * vocabulary_size ** 2 + keys)
    return unique % vocabulary_size ** 2, unique // vocabulary_size ** 2


def frequent(tokens, vocabulary_size, min_count=MIN_COUNT):
    """The sorted keys of the bigrams in at least `min_count` rows of `tokens` (token-id
    rows, a RaggedTensor), each counted once per row.

    Example:

    >>> frequent(tf.ragged.constant([[2, 3], [2, 3, 3], [3]]), 10, min_count=2)
    array([ 2, 23])
    """
    rows, _, keys = step_keys(tokens, vocabulary_size)
    key, count = np.unique(once_per_row(rows, keys, vocabulary_size)[0], return_counts=True)
    return key[count >= min_count]


def lookup(keys, tokens, vocabulary_size):
    """Token ids `(batch, time)` -> for each step, 1 + the place of its bigram's key in the
    sorted `keys` (`frequent`), or 0 where the bigram is not among them.

    Example:

    >>> lookup(np.array([2, 23]), np.array([[2, 3, 5, 0]]), 10)   # (start, 2), (2, 3), (3, 5), (5, 0)
    <tf.Tensor: shape=(1, 4), dtype=int64, numpy=array([[1, 2, 0, 0]])>
    """
    tokens = ops.cast(tokens, "int64")
    if ops.shape(keys)[0] == 0:
        return ops.zeros_like(tokens)
    key = ops.pad(tokens[:, :-1], [[0, 0], [1, 0]]) * vocabulary_size + tokens  # previous * V + this
    at = ops.minimum(ops.searchsorted(keys, ops.reshape(key, [-1])), ops.shape(keys)[0] - 1)
    at = ops.reshape(ops.cast(at, "int64"), ops.shape(key))
    return ops.where(ops.take(keys, at) == key, at + 1, 0)


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class BigramEmbedding(keras.layers.Layer):
    """Token ids `(batch, time)` -> `(batch, time, output_dim)`: each step's vector of its
    bigram with the token before, one shared vector for the bigrams not kept.

    The kept bigrams' sorted keys (`frequent`) are a weight of the layer, so they are
    saved and exported with the model; `set_keys` fills them once, before training.
    Padding (id 0) is masked, as by `keras.layers.Embedding(mask_zero=True)`.

    Args:
        vocabulary_size: V of the keys a * V + b.
        bigrams: how many bigrams are kept.
        output_dim: size of each bigram's vector.

    Example:

    >>> layer = BigramEmbedding(10, bigrams=2, output_dim=4)
    >>> layer.set_keys(np.array([2, 23]))
    >>> layer(np.array([[2, 3, 5, 0]])).shape   # (start, 2), (2, 3), (3, 5) not kept, padding
    TensorShape([1, 4, 4])
    """

    def __init__(self, vocabulary_size, bigrams, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.bigrams, self.output_dim = vocabulary_size, bigrams, output_dim
        self.supports_masking = True

    def build(self, input_shape):
        self.keys = self.add_weight(shape=(self.bigrams,), dtype="int64", initializer="zeros",
                                    trainable=False, name="keys")
        self.embeddings = self.add_weight(shape=(self.bigrams + 1, self.output_dim),
                                          initializer="uniform", name="embeddings")

    def set_keys(self, keys):
        """Set the kept bigrams' keys (sorted, as `frequent` returns them)."""
        keys = np.asarray(keys, dtype=np.int64)
        if keys.shape != (self.bigrams,) or np.any(np.diff(keys) <= 0):
            raise ValueError(f"`keys` must be {self.bigrams} increasing keys. Received shape {keys.shape}.")
        if not self.built:
            self.build(None)
        self.keys.assign(keys)

    def index(self, tokens):
        """Each step's row of `embeddings` (`lookup`)."""
        return lookup(self.keys, tokens, self.vocabulary_size)

    def call(self, tokens):
        return ops.take(self.embeddings, self.index(tokens), axis=0)

    def compute_mask(self, tokens, mask=None):
        return ops.not_equal(tokens, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "bigrams": self.bigrams,
                "output_dim": self.output_dim}
