"""Step 3 of the pipeline: the classifier, token ids in, class probabilities out.

`build_token_model` is what trains (on the tf.data pipeline of `pipeline.make_dataset`);
`build_end_to_end` wraps it with the same tokenization into a model that takes raw
review strings, which is what is saved, exported and served.
"""
import math

import keras

from sentiment_lstm import rnn
from sentiment_lstm.core.config import Config
from sentiment_lstm.model import ngrams, optimizer, transformer
from sentiment_lstm.model.pooling import MaskedSum, pool
from sentiment_lstm.text import tokenizer

# --cell -> the recurrent layer: the project's (`sentiment_lstm.rnn`), or Keras' own (or
# "transformer": encoder blocks in its place, `transformer.py`).
RECURRENT_LAYERS = {
    "lstm": rnn.LSTM,
    "gru": rnn.GRU,
    "rnn": rnn.SimpleRNN,
    "keras-lstm": keras.layers.LSTM,
}


def recurrent_layer_class(cell):
    """The layer class of `--cell` name `cell` (a recurrent one; see `sequence_layers`)."""
    if cell not in RECURRENT_LAYERS:
        raise ValueError(f"`cell` must be one of {sorted(RECURRENT_LAYERS)}. Received: cell={cell!r}")
    return RECURRENT_LAYERS[cell]


def build_token_model(vocabulary_size, config=None, ngram_keys=None, num_classes=2):
    """Embedding [+ n-gram embeddings] -> recurrent layer(s) (or positions and Transformer
    encoder blocks) -> [pooling] -> Dense(2, softmax), compiled;
    with `config.linear_ngrams`, a linear bag of n-grams adds to the Dense layer's scores.

    Args:
        vocabulary_size: number of token ids, padding (0) and OOV (1) included.
        config: a `Config`; its model and optimiser fields are used
            (`cell`, `layers`, `units`, `bidirectional`, `pooling`, `embed_dim`,
            `bigram_dim`, `trigram_dim`, `linear_ngrams`, the four dropouts, `learning_rate`,
            `ema_momentum`, `jit_compile`, `steps_per_execution`). Defaults to `Config()`.
        ngram_keys: with `config.bigram_dim` or `trigram_dim`, `{n: the sorted keys of the
            n-grams that get a vector}` for each n read (`ngrams.frequent`); each step then
            reads its word's embedding and the vectors of the bigram and trigram it ends,
            concatenated (`ngrams.NgramEmbedding`).

    Dropout sits where each kind helps an RNN text classifier: `embedding_dropout`
    drops whole embedding channels (SpatialDropout1D), `dropout` and
    `recurrent_dropout` are the recurrent layer's own input and state dropouts,
    `dense_dropout` acts on the final review vector before the softmax.

    Returns:
        A compiled `keras.Model` taking int token ids `(batch, time)` (0 = padding,
        masked) and returning probabilities `(batch, 2)` in the order of `LABELS`.

    Example:

    >>> model = build_token_model(1000, Config(units=8, embed_dim=16))
    >>> model(np.array([[5, 9, 2, 0]])).shape
    TensorShape([1, 2])
    """
    config = config or Config()
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocabulary_size, config.embed_dim, mask_zero=True,
                               name="embedding")(tokens)  # (batch, time, embed_dim)
    x = keras.layers.SpatialDropout1D(config.embedding_dropout, name="embedding_dropout")(x)
    phrases = []
    for order, dim in ngram_dims(config).items():
        if order not in (ngram_keys or {}):
            raise ValueError(f"`ngram_keys[{order}]` is needed with `config.{ngrams.ORDERS[order]}_dim`; "
                             "see `ngrams.frequent`.")
        name = ngrams.ORDERS[order]
        table = ngrams.NgramEmbedding(vocabulary_size, len(ngram_keys[order]), dim, order, name=f"{name}_embedding")
        table.set_keys(ngram_keys[order])
        phrases.append(keras.layers.SpatialDropout1D(config.embedding_dropout, name=f"{name}_dropout")(table(tokens)))
    if phrases:
        x = keras.layers.Concatenate(name="words_and_ngrams")([x, *phrases])  # (batch, time, embed_dim + n-gram dims)
    x = sequence_layers(x, config)  # (batch, time, features) to pool, or the last state (batch, units)
    x = pool(x, config.pooling)  # (batch, features)
    x = keras.layers.Dropout(config.dense_dropout, name="dense_dropout")(x)
    if config.linear_ngrams:
        scores = keras.layers.Dense(num_classes, name="recurrent_scores")(x)  # (batch, classes)
        scores = keras.layers.Add(name="scores")([scores, linear_ngram_scores(tokens, vocabulary_size, config,
                                                                              ngram_keys, num_classes)])
        probabilities = keras.layers.Softmax(name="probabilities")(scores)
    else:
        probabilities = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(tokens, probabilities, name="token_model")
    model.compile(optimizer=optimizer.adam(config), loss="categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
    return model


def sequence_layers(x, config):
    """The layers that read the step vectors `x` `(batch, time, width)` in order: `config.layers`
    recurrent layers (their outputs at every step where pooled or stacked, else the last
    state; `Bidirectional` with `config.bidirectional`), or for `--cell transformer` the
    positions and as many encoder blocks."""
    if config.cell == "transformer":
        x = transformer.SinusoidalPositions(name="positions")(x)
        for k in range(config.layers):
            x = transformer.EncoderBlock(config.heads, config.units, config.dropout, name=f"encoder_{k}")(x)
        return x  # (batch, time, width)
    Recurrent = recurrent_layer_class(config.cell)
    for k in range(config.layers):
        last = k == config.layers - 1
        layer = Recurrent(config.units, return_sequences=not last or config.pooling != "last",
                          dropout=config.dropout, recurrent_dropout=config.recurrent_dropout,
                          name=f"recurrent_{k}")
        if config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{k}")
        x = layer(x)  # (batch, time, units), the last layer (batch, units) unless pooled; twice the units bidirectional
    return x


def linear_ngram_scores(tokens, vocabulary_size, config, ngram_keys, num_classes=2):
    """`--linear-ngrams`: each class's score from a linear bag of n-grams, `(batch, classes)`.

    Each step adds a learned weight per class for its word and for each n-gram it ends
    that the model reads (the same kept n-grams as the vectors, one shared weight for
    the rest), and the review's score is their sum over its steps: logistic regression
    on n-gram counts (the wide part of Cheng et al. 2016's wide and deep model; NB-LR,
    the teacher, is one too), trained with the recurrent part. The weights start at 0,
    so the model starts as the recurrent one alone, and whole steps are dropped at
    `embedding_dropout` (dropout on a linear model's features acts as an adaptive L2
    penalty, Wager, Wang & Liang 2013). With `config.linear_once` each word and n-gram
    adds its weight once per text, however often it occurs (`ngrams.OncePerText`).
    """
    classes = num_classes
    terms = [keras.layers.Embedding(vocabulary_size, classes, embeddings_initializer="zeros", mask_zero=True,
                                    name="word_weights")(tokens)]
    for order in ngram_dims(config):
        name = ngrams.ORDERS[order]
        table = ngrams.NgramEmbedding(vocabulary_size, len(ngram_keys[order]), classes, order,
                                      embeddings_initializer="zeros", name=f"{name}_weights")
        table.set_keys(ngram_keys[order])
        terms.append(table(tokens))
    if config.linear_once:  # each n-gram once per text: presence, not counts
        terms = [ngrams.OncePerText(vocabulary_size, order, name=f"{ngrams.ORDERS.get(order, 'word')}_once")(
                     [term, tokens]) for order, term in zip([1, *ngram_dims(config)], terms)]
    steps = terms[0] if len(terms) == 1 else keras.layers.Add(name="ngram_weights")(terms)  # (batch, time, classes)
    steps = keras.layers.Dropout(config.embedding_dropout, noise_shape=(None, None, 1),
                                 name="ngram_weights_dropout")(steps)
    return MaskedSum(name="linear_scores")(steps)


def trainable_parameters(model):
    """How many numbers `model` learns: its trainable weights' sizes (the n-gram key tables
    and the vocabulary are not learned)."""
    return int(sum(math.prod(weight.shape) for weight in model.trainable_weights))


def ngram_dims(config):
    """`{n: vector size}` of the n-grams `config` has each step read (`--bigram-dim`,
    `--trigram-dim`), e.g. `{2: 16}`; empty for words alone."""
    dims = {order: getattr(config, f"{name}_dim") for order, name in ngrams.ORDERS.items()}
    return {order: dim for order, dim in dims.items() if dim}


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class PadToMinLength(keras.layers.Layer):
    """Right-pads token ids `(batch, time)` with 0 (padding) to at least `min_length` steps.

    A batch of reviews without a single token (all empty, say) would otherwise reach
    the recurrent layer with zero time steps; padded, it has one masked step and
    gets the prediction of an empty review. Longer batches pass unchanged.

    Args:
        min_length: the fewest time steps of the output.

    Example:

    >>> PadToMinLength()(np.zeros((3, 0), "int32")).shape
    TensorShape([3, 1])
    """

    def __init__(self, min_length=1, **kwargs):
        super().__init__(**kwargs)
        if min_length < 1:
            raise ValueError(f"`min_length` must be at least 1. Received: min_length={min_length}")
        self.min_length = min_length

    def call(self, tokens):
        missing = keras.ops.maximum(self.min_length - keras.ops.shape(tokens)[1], 0)
        return keras.ops.pad(tokens, [[0, 0], [0, missing]])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def get_config(self):
        return {**super().get_config(), "min_length": self.min_length}


def build_end_to_end(token_model, vectorizer, max_length):
    """Raw review strings `(batch,)` -> probabilities `(batch, 2)`.

    The tokenization is the training pipeline's: the adapted `vectorizer`
    (`tokenizer.make_vectorizer`), then `tokenizer.ClipTokens(max_length)` (with `max_length`
    None, no clipping: the whole review); `PadToMinLength` then keeps a batch of
    token-less reviews from having no time step. The returned model shares
    `token_model`'s weights and is not compiled: it is for inference, saving and export.

    Example:

    >>> end_to_end = build_end_to_end(token_model, vectorizer, 200)
    >>> end_to_end(tf.constant(["A great film.", ""])).shape
    TensorShape([2, 2])
    """
    review = keras.Input(shape=(), dtype="string", name="review")
    tokens = vectorizer(review)  # (batch, longest review in batch)
    if max_length is not None:
        tokens = tokenizer.ClipTokens(max_length, name="clip_tokens")(tokens)  # (batch, <= max_length)
    tokens = PadToMinLength(1, name="pad_to_min_length")(tokens)  # (batch, >= 1)
    return keras.Model(review, token_model(tokens), name="sentiment_classifier")


def parts(end_to_end):
    """`(token_model, vectorizer)` of a model built by `build_end_to_end` (or loaded from
    its `model.keras`), to build it again with another `max_length`."""
    vectorizer = next(layer for layer in end_to_end.layers if isinstance(layer, keras.layers.TextVectorization))
    return end_to_end.get_layer("token_model"), vectorizer
