"""The text vector from the recurrent layer's outputs: its last state, or their masked
maximum, mean or both over the text's steps, or their sum weighted by attention."""
import keras

from sentiment_lstm.core.config import POOLINGS


def pool(outputs, pooling):
    """The review vector from the last recurrent layer's `outputs`.

    "last": they are its last state already, `(batch, units)`. Otherwise `outputs` are
    its outputs at every step, `(batch, time, units)` with the padding mask, and the
    review vector is their maximum ("max", `MaskedMaxPooling1D`), their mean
    ("mean", `MaskedMeanPooling1D`), or both concatenated ("max-mean"), over
    each review's own steps, or their sum weighted by additive attention ("attention",
    `AttentionPooling`).
    """
    if pooling == "last":
        return outputs
    if pooling == "attention":
        return AttentionPooling(name="attention_pool")(outputs)
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
class AttentionPooling(OverTime):
    """Additive attention over time with a learned query (Bahdanau, Cho & Bengio 2015;
    for documents, Yang et al. 2016), over the unmasked steps only:

        u_t = tanh(W h_t + b)
        e_t = q . u_t
        a_t = exp(e_t) / sum_s exp(e_s)       (s over the text's own steps)
        v   = sum_t a_t h_t

    `(batch, time, features)` -> `(batch, features)`; 0 for a row without a step.
    `attention(h, mask)` gives the weights a_t themselves, `(batch, time)`.

    Args:
        units: the size of u_t (default: the features').

    Example:

    >>> pool = AttentionPooling()
    >>> pool(np.ones((2, 3, 4)), mask=np.array([[True, True, False], [False] * 3])).shape
    TensorShape([2, 4])
    """

    def __init__(self, units=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        features = input_shape[-1]
        units = self.units or features
        self.W = self.add_weight(shape=(features, units), initializer="glorot_uniform", name="W")
        self.b = self.add_weight(shape=(units,), initializer="zeros", name="b")
        self.q = self.add_weight(shape=(units,), initializer="glorot_uniform", name="q")

    def energies(self, h):
        """e_t of outputs `h` `(batch, time, features)`, `(batch, time)`."""
        u = keras.ops.tanh(keras.ops.matmul(h, self.W) + self.b)
        return keras.ops.matmul(u, self.q)

    def attention(self, h, mask=None):
        """a_t, `(batch, time)`: the softmax of e_t over each row's unmasked steps (0 at
        the masked ones; a row without any is all 0)."""
        return masked_softmax(self.energies(h), mask)

    def call(self, inputs, mask=None):
        a = self.attention(inputs, mask)
        return keras.ops.sum(keras.ops.expand_dims(a, -1) * inputs, axis=1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def masked_softmax(e, mask=None):
    """The softmax of `e` over its last axis, over the places `mask` holds only (0
    elsewhere; a row without any is all 0)."""
    if mask is None:
        return keras.ops.softmax(e, axis=-1)
    valid = keras.ops.cast(mask, "bool")
    e = keras.ops.where(valid, e, -1e9)
    e = e - keras.ops.max(e, axis=-1, keepdims=True)  # the largest exp(e_t) of a row is 1
    weights = keras.ops.exp(e) * keras.ops.cast(valid, e.dtype)
    return weights / keras.ops.maximum(keras.ops.sum(weights, axis=-1, keepdims=True), 1e-30)
