"""Step 3 of the pipeline: the classifier, token ids in, class probabilities out.

`build_token_model` is what trains (on the tf.data pipeline of `text.make_dataset`);
`build_end_to_end` wraps it with the same tokenization into a model that takes raw
review strings, which is what is saved, exported and served.
"""
import math

import keras

from sentiment_lstm import lazy_adam, ngrams, rnn, text
from sentiment_lstm.config import POOLINGS, Config
from sentiment_lstm.data import LABELS

# --cell -> the recurrent layer: the project's (`sentiment_lstm.rnn`), or Keras' own.
RECURRENT_LAYERS = {
    "lstm": rnn.LSTM,
    "gru": rnn.GRU,
    "rnn": rnn.SimpleRNN,
    "keras-lstm": keras.layers.LSTM,
}


def recurrent_layer_class(cell):
    """The layer class of `--cell` name `cell`."""
    if cell not in RECURRENT_LAYERS:
        raise ValueError(f"`cell` must be one of {sorted(RECURRENT_LAYERS)}. Received: cell={cell!r}")
    return RECURRENT_LAYERS[cell]


def build_token_model(vocabulary_size, config=None, ngram_keys=None):
    """Embedding [+ n-gram embeddings] -> recurrent layer(s) -> [pooling] -> Dense(2, softmax), compiled;
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
    Recurrent = recurrent_layer_class(config.cell)
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
    for k in range(config.layers):
        last = k == config.layers - 1
        layer = Recurrent(config.units, return_sequences=not last or config.pooling != "last",
                          dropout=config.dropout, recurrent_dropout=config.recurrent_dropout,
                          name=f"recurrent_{k}")
        if config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{k}")
        x = layer(x)  # (batch, time, units), the last layer (batch, units) unless pooled; twice the units bidirectional
    x = pool(x, config.pooling)  # (batch, features)
    x = keras.layers.Dropout(config.dense_dropout, name="dense_dropout")(x)
    if config.linear_ngrams:
        scores = keras.layers.Dense(len(LABELS), name="recurrent_scores")(x)  # (batch, classes)
        scores = keras.layers.Add(name="scores")([scores, linear_ngram_scores(tokens, vocabulary_size, config,
                                                                              ngram_keys)])
        probabilities = keras.layers.Softmax(name="probabilities")(scores)
    else:
        probabilities = keras.layers.Dense(len(LABELS), activation="softmax", name="probabilities")(x)
    model = keras.Model(tokens, probabilities, name="token_model")
    model.compile(optimizer=optimizer(config), loss="categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
    return model


def linear_ngram_scores(tokens, vocabulary_size, config, ngram_keys):
    """`--linear-ngrams`: each class's score from a linear bag of n-grams, `(batch, classes)`.

    Each step adds a learned weight per class for its word and for each n-gram it ends
    that the model reads (the same kept n-grams as the vectors, one shared weight for
    the rest), and the review's score is their sum over its steps: logistic regression
    on n-gram counts (the wide part of Cheng et al. 2016's wide and deep model; NB-LR,
    the teacher, is one too), trained with the recurrent part. The weights start at 0,
    so the model starts as the recurrent one alone, and whole steps are dropped at
    `embedding_dropout` (dropout on a linear model's features acts as an adaptive L2
    penalty, Wager, Wang & Liang 2013).
    """
    classes = len(LABELS)
    terms = [keras.layers.Embedding(vocabulary_size, classes, embeddings_initializer="zeros", mask_zero=True,
                                    name="word_weights")(tokens)]
    for order in ngram_dims(config):
        name = ngrams.ORDERS[order]
        table = ngrams.NgramEmbedding(vocabulary_size, len(ngram_keys[order]), classes, order,
                                      embeddings_initializer="zeros", name=f"{name}_weights")
        table.set_keys(ngram_keys[order])
        terms.append(table(tokens))
    steps = terms[0] if len(terms) == 1 else keras.layers.Add(name="ngram_weights")(terms)  # (batch, time, classes)
    steps = keras.layers.Dropout(config.embedding_dropout, noise_shape=(None, None, 1),
                                 name="ngram_weights_dropout")(steps)
    return MaskedSum(name="linear_scores")(steps)


def ngram_dims(config):
    """`{n: vector size}` of the n-grams `config` has each step read (`--bigram-dim`,
    `--trigram-dim`), e.g. `{2: 16}`; empty for words alone."""
    dims = {order: getattr(config, f"{name}_dim") for order, name in ngrams.ORDERS.items()}
    return {order: dim for order, dim in dims.items() if dim}


def optimizer(config):
    """Adam at `config.learning_rate` (with `config.lazy_adam`, `lazy_adam.LazyAdam`); with
    `config.ema_momentum`, also keeping the moving average of the weights that
    `ema_callbacks` swaps in for validation and checkpoints."""
    Adam = lazy_adam.LazyAdam if config.lazy_adam else keras.optimizers.Adam
    if not config.ema_momentum:
        return Adam(config.learning_rate)
    return Adam(config.learning_rate, use_ema=True, ema_momentum=config.ema_momentum)


def learning_rate_callbacks(config):
    """With `config.lr_schedule` "cosine", Keras' `LearningRateScheduler` setting epoch e
    (from 0) to `lr (1 + cos(pi e / E)) / 2`, E = `config.lr_schedule_epochs` or else
    `config.epochs`: the full rate first, half of it midway, and small steps in the last
    epochs (0.024 lr in the tenth of 10). Else none."""
    if config.lr_schedule == "constant":
        return []
    span = config.lr_schedule_epochs or config.epochs
    return [keras.callbacks.LearningRateScheduler(lambda epoch: cosine_rate(config.learning_rate, epoch, span))]


def cosine_rate(learning_rate, epoch, epochs):
    """`learning_rate (1 + cos(pi epoch / epochs)) / 2`, a float.

    The rate of Keras' `CosineDecay` with epochs for steps (its step-based form would
    need the number of batches per epoch, which length-bucketed datasets do not know in
    advance), computed in float64 as the validated cosine runs computed it: `CosineDecay`
    works in float32 and lands 1 float32 step away at some epochs, enough for a run to
    stop reproducing bit for bit. `tests/test_schedule.py` checks the two agree.
    """
    return learning_rate * (1 + math.cos(math.pi * epoch / epochs)) / 2


def ema_callbacks(config):
    """With `config.ema_momentum`, Keras' `SwapEMAWeights`, to come before the callbacks that
    read the weights: each validation, and each epoch's end (early stopping, checkpoints),
    sees the averaged weights; training goes on from the last step's. Else none."""
    return [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.ema_momentum else []


def pool(outputs, pooling):
    """The review vector from the last recurrent layer's `outputs`.

    "last": they are its last state already, `(batch, units)`. Otherwise `outputs` are
    its outputs at every step, `(batch, time, units)` with the padding mask, and the
    review vector is their maximum ("max", `MaskedMaxPooling1D`), their mean
    ("mean", `MaskedMeanPooling1D`), or both concatenated ("max-mean"), over
    each review's own steps.
    """
    if pooling == "last":
        return outputs
    pooled = []
    if pooling in ("max", "max-mean"):
        pooled.append(MaskedMaxPooling1D(name="max_pool")(outputs))
    if pooling in ("mean", "max-mean"):
        pooled.append(MaskedMeanPooling1D(name="mean_pool")(outputs))
    if not pooled:
        raise ValueError(f"`pooling` must be one of {POOLINGS}. Received: pooling={pooling!r}")
    return pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="pools")(pooled)


class OverTime(keras.layers.Layer):
    """The base of the layers below: a reduction over the time axis, `(batch, time,
    features)` -> `(batch, features)`, that takes the padding mask and passes none on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class MaskedMaxPooling1D(OverTime):
    """The maximum over time of `(batch, time, features)`, over the unmasked steps only
    (Keras' `GlobalMaxPooling1D` takes no mask); 0 for a row without one.

    Example:

    >>> x = np.array([[[1.0], [-2.0], [9.0]]])
    >>> MaskedMaxPooling1D()(x, mask=np.array([[True, True, False]])).numpy()
    array([[1.]], dtype=float32)
    """

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.max(inputs, axis=1)
        valid = keras.ops.expand_dims(keras.ops.cast(mask, "bool"), -1)  # (batch, time, 1)
        lowest = keras.ops.min(inputs, axis=1, keepdims=True)  # below or at every valid value
        maximum = keras.ops.max(keras.ops.where(valid, inputs, lowest), axis=1)
        return keras.ops.where(keras.ops.any(valid, axis=1), maximum, 0.0)


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class MaskedMeanPooling1D(OverTime):
    """The mean over time of `(batch, time, features)`, over the unmasked steps only; 0 for
    a row without one, where Keras' `GlobalAveragePooling1D` divides 0 by 0 (an empty
    review would get no prediction).

    Example:

    >>> x = np.array([[[1.0], [-2.0], [9.0]]])
    >>> MaskedMeanPooling1D()(x, mask=np.array([[True, True, False]])).numpy()
    array([[-0.5]], dtype=float32)
    """

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.mean(inputs, axis=1)
        valid = keras.ops.expand_dims(keras.ops.cast(mask, inputs.dtype), -1)  # (batch, time, 1)
        steps = keras.ops.sum(valid, axis=1)  # (batch, 1)
        return keras.ops.sum(inputs * valid, axis=1) / keras.ops.maximum(steps, 1.0)


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class MaskedSum(OverTime):
    """The sum over time of `(batch, time, features)`, over the unmasked steps only.

    Example:

    >>> x = np.array([[[1.0], [-2.0], [9.0]]])
    >>> MaskedSum()(x, mask=np.array([[True, True, False]])).numpy()
    array([[-1.]], dtype=float32)
    """

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * keras.ops.expand_dims(keras.ops.cast(mask, inputs.dtype), -1)
        return keras.ops.sum(inputs, axis=1)


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
    (`text.make_vectorizer`), then `text.ClipTokens(max_length)` (with `max_length`
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
        tokens = text.ClipTokens(max_length, name="clip_tokens")(tokens)  # (batch, <= max_length)
    tokens = PadToMinLength(1, name="pad_to_min_length")(tokens)  # (batch, >= 1)
    return keras.Model(review, token_model(tokens), name="sentiment_classifier")


def parts(end_to_end):
    """`(token_model, vectorizer)` of a model built by `build_end_to_end` (or loaded from
    its `model.keras`), to build it again with another `max_length`."""
    vectorizer = next(layer for layer in end_to_end.layers if isinstance(layer, keras.layers.TextVectorization))
    return end_to_end.get_layer("token_model"), vectorizer
