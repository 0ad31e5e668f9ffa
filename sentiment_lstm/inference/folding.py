"""Serving's token model with the word embedding folded into the recurrent layer's
input weights.

A step's input is its word's embedding, then its n-grams' vectors,
`x_t = [E[w_t]; e_ngrams,t]`, and the first thing the recurrent layer does with it is
the input half of every gate, `W_x x_t + b`. Split by rows, `W_x = [W_word; W_ngrams]`:

    W_x x_t + b = (E W_word + b)[w_t] + W_ngrams e_ngrams,t

`E W_word + b` is a table of one row per word (20,000 x 4U for the best model: 20 MB),
computed once, so a step reads its word's row instead of multiplying its embedding:
for the best model (128-d words, 16-d bigrams and trigrams, 64 units) the product per
step shrinks from 160 x 256 to 32 x 256 multiply-adds, and for words alone it is
gone. The n-gram tables stay as they are (their folded rows would be 0.7 million x
4U), but a step finds its n-grams' rows in a hash table of their keys
(`tf.lookup.StaticHashTable`, built here from the layers' sorted keys) rather than by
the binary search of `ngrams.lookup` that training uses: for the best model's 0.6
million bigrams, 2.3 ms instead of 8.3 ms for a batch of 256 reviews' 85,000 steps.
The recurrent layer gets each step's rows of these tables and the function that projects
them (`Recurrent(projected=FoldedInputs.rows)`), and projects only the steps it reads:
the compiled chunks' steps (padding of the group left out), or over packed sequences
each block's steps inside its loop; a group's `(batch, time, 4U)` input is never formed.

Only the float rounding of the sums differs from the token model's own forward pass.
The fold applies to what `network.build_token_model` builds with one unidirectional
layer of the project's cells, read at its last state, and no linear n-gram scores
(`fold` says None otherwise: serving then runs the token model itself).
"""
import keras
import tensorflow as tf
from keras import ops

from sentiment_lstm.model import ngrams
from sentiment_lstm.rnn import Recurrent


class FoldedInputs(keras.layers.Layer):
    """Token ids `(batch, time)` -> `W_x x_t + b` of each step, `(batch, time, k * units)`,
    from the folded word table and the n-gram vectors (the module's text).

    Args:
        word_table: `E W_word + b`, `(vocabulary, k * units)`.
        ngram_layers: the `ngrams.NgramEmbedding` layers whose vectors follow the word
            embedding in the input, in that order.
        ngram_kernel: `W_ngrams`, `(sum of their sizes, k * units)`, or None without them.
    """

    def __init__(self, word_table, ngram_layers=(), ngram_kernel=None, **kwargs):
        super().__init__(**kwargs)
        self.ngram_layers = list(ngram_layers)
        self.word_table = self.add_weight(shape=word_table.shape, initializer="zeros", trainable=False,
                                          name="word_table")
        self.word_table.assign(word_table)
        self.ngram_kernel = None
        if self.ngram_layers:
            self.ngram_kernel = self.add_weight(shape=ngram_kernel.shape, initializer="zeros", trainable=False,
                                                name="ngram_kernel")
            self.ngram_kernel.assign(ngram_kernel)
        # Each n-gram layer's kept keys -> 1 + their place (its row of `embeddings`), else 0.
        self.tables = [_row_table(layer) for layer in self.ngram_layers]
        self.built = True  # its weights are made here, from the model's

    def call(self, tokens):
        return self.rows(self.ids(tokens))

    def ids(self, tokens):
        """Token ids `(batch, time)` -> each step's rows, `(batch, time, 1 + n-gram layers)`:
        its word's row of `word_table`, then its n-grams' rows of their layers' tables."""
        tokens = ops.cast(tokens, "int64")
        rows = [tokens] + [self.index(layer, table, tokens) for layer, table in zip(self.ngram_layers, self.tables)]
        return ops.stack(rows, axis=-1)

    def rows(self, ids):
        """`ids` `(..., 1 + n-gram layers)` from `ids` -> `W_x x_t + b`, `(..., k * units)`."""
        projected = ops.take(self.word_table, ids[..., 0], axis=0)
        if not self.ngram_layers:
            return projected
        vectors = [ops.take(layer.embeddings, ids[..., 1 + k], axis=0) for k, layer in enumerate(self.ngram_layers)]
        return projected + ops.matmul(ops.concatenate(vectors, axis=-1), self.ngram_kernel)

    @staticmethod
    def index(layer, table, tokens):
        """`layer.index(tokens)` (`ngrams.lookup`), from `table`."""
        keys = ngrams.keys_of(tokens, layer.vocabulary_size, layer.order)
        return keys * 0 if table is None else table.lookup(keys)


def fold(token_model):
    """`probabilities(tokens)`: the token model's inference on token ids `(batch, time)`
    through `FoldedInputs` and its recurrent and output layers, or None where the model
    is not of the form the module's text names. The weights are read now: a model trained
    further needs folding again."""
    structure = _structure(token_model)
    if structure is None:
        return None
    embedding, ngram_layers, recurrent, dense = structure
    cell = recurrent.cell
    kernel = ops.convert_to_tensor(cell.kernel)
    words = embedding.output_dim
    table = ops.matmul(ops.convert_to_tensor(embedding.embeddings), kernel[:words])
    if cell.use_bias:
        table = table + cell.input_bias()
    inputs = FoldedInputs(table, ngram_layers, kernel[words:] if ngram_layers else None, name="folded_inputs")

    def probabilities(tokens):
        # Each step's rows of the tables, projected where the recurrence reads them: in
        # packed sequences block by block, so (batch, time, k * units) is never formed.
        last = recurrent(inputs.ids(tokens), mask=ops.not_equal(tokens, 0), training=False, projected=inputs.rows)
        return dense(last)

    probabilities.resources = [inputs, *filter(None, inputs.tables)]  # what an export keeps beside the model
    return probabilities


def _row_table(layer):
    """A hash table from `layer`'s kept n-gram keys to their rows, 1 + their place (0 for
    the others); None where it keeps none."""
    keys = ops.convert_to_tensor(layer.keys)
    if layer.ngrams == 0:
        return None
    rows = tf.range(1, layer.ngrams + 1, dtype=tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, rows), default_value=0)


def _structure(token_model):
    """`(embedding, n-gram layers, recurrent layer, output layer)` of a foldable token
    model (the module's text), found through the layer graph; None if it is not one."""
    try:
        dense = token_model.get_layer("probabilities")
        recurrent = _source(_input(dense), skip=keras.layers.Dropout)
        sources = _input(recurrent)
        producer = sources._keras_history.operation
        inputs = list(_input(producer)) if isinstance(producer, keras.layers.Concatenate) else [sources]
        layers = [_source(tensor, skip=keras.layers.SpatialDropout1D) for tensor in inputs]
        read_tokens = all(_input(layer) is token_model.inputs[0] for layer in layers)
    except (ValueError, IndexError, AttributeError):  # not a graph of single calls
        return None
    embedding, ngram_layers = layers[0], layers[1:]
    if (not isinstance(dense, keras.layers.Dense) or not isinstance(recurrent, Recurrent)
            or recurrent.return_sequences or recurrent.return_state
            or type(embedding) is not keras.layers.Embedding or not embedding.mask_zero
            or not all(isinstance(layer, ngrams.NgramEmbedding) for layer in ngram_layers)
            or not read_tokens or token_model.outputs[0] is not dense.output):
        return None
    return embedding, ngram_layers, recurrent, dense


def _input(layer):
    """What `layer` was called on in the token model's graph (it is called once there):
    a tensor, or a list of them for `Concatenate`."""
    (node,) = layer._inbound_nodes
    return node.arguments.args[0]


def _source(tensor, skip):
    """The layer that produced `tensor`, looking through layers of type `skip`."""
    layer = tensor._keras_history.operation
    while isinstance(layer, skip):
        layer = _input(layer)._keras_history.operation
    return layer
