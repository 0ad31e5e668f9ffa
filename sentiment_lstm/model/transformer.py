"""`--cell transformer`: a small Transformer encoder (Vaswani et al. 2017) in the recurrent
layer's place, built from Keras' own layers.

Each step's vector (the word's embedding and its n-grams' vectors) gets its position
added (`SinusoidalPositions`), then each `EncoderBlock` lets every step attend to every
step of the text (multi-head self-attention, padding masked) and passes each through a
feed-forward layer, each sublayer with its residual connection and layer normalization:

    a = LayerNorm(x + Dropout(MultiHeadAttention(x, x, x)))
    y = LayerNorm(a + Dropout(W_2 relu(W_1 a + b_1) + b_2))

The outputs at every step are then pooled like the recurrent layer's (`pooling.py`).

Keras' `MultiHeadAttention` and `LayerNormalization`, not KerasHub's
`TransformerEncoder` and `TokenAndPositionEmbedding`: KerasHub would be a dependency for
two small layers, and its position embedding is learned up to a fixed length, where
the saved model reads whole texts of any length (`--serve-max-length 0`); sine
positions are defined at every length.
"""
import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class SinusoidalPositions(keras.layers.Layer):
    """Adds to step t of `(batch, time, width)` its position's vector, sin(t / 10000^(2i/width))
    in channel 2i and cos(...) in channel 2i + 1; the padding mask passes through.

    Example:

    >>> SinusoidalPositions()(np.zeros((1, 3, 4)))[0, :, 0].numpy()  # sin(0), sin(1), sin(2)
    array([0.       , 0.841471 , 0.9092974], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        time, width = ops.shape(inputs)[1], inputs.shape[-1]
        t = ops.cast(ops.arange(time), "float32")[:, None]  # (time, 1)
        i = ops.arange(width) // 2  # the pair of each channel
        frequency = ops.exp(-math.log(10000.0) * ops.cast(2 * i, "float32") / width)  # (width,)
        angle = t * frequency[None]  # (time, width)
        positions = ops.where(ops.arange(width) % 2 == 0, ops.sin(angle), ops.cos(angle))
        return inputs + ops.cast(positions, inputs.dtype)[None]


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class EncoderBlock(keras.layers.Layer):
    """One Transformer encoder block (the module's equations), `(batch, time, width)` ->
    `(batch, time, width)`, masked: no step attends to padding.

    Args:
        heads: attention heads; each has width / heads dimensions (`width` must divide by it).
        hidden: the feed-forward layer's width.
        dropout: dropout of the attention weights and of each sublayer's output.

    Example:

    >>> EncoderBlock(heads=2, hidden=16)(np.ones((2, 5, 8))).shape
    TensorShape([2, 5, 8])
    """

    def __init__(self, heads=2, hidden=64, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.hidden, self.dropout = heads, hidden, dropout
        self.supports_masking = True

    def build(self, input_shape):
        width = input_shape[-1]
        if width % self.heads:
            raise ValueError(f"The step vector's width ({width}) must divide by the heads ({self.heads}).")
        self.attention = keras.layers.MultiHeadAttention(self.heads, width // self.heads, dropout=self.dropout,
                                                         name="self_attention")
        self.attention.build(input_shape, input_shape, input_shape)
        self.norm_1 = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_1")
        self.norm_1.build(input_shape)
        self.expand = keras.layers.Dense(self.hidden, activation="relu", name="feed_forward_1")
        self.expand.build(input_shape)
        self.project = keras.layers.Dense(width, name="feed_forward_2")
        self.project.build((*input_shape[:-1], self.hidden))
        self.norm_2 = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_2")
        self.norm_2.build(input_shape)
        self.drop = keras.layers.Dropout(self.dropout)

    def call(self, x, mask=None, training=False):
        attend = None
        if mask is not None:  # (batch, query, key): every query attends to the text's own steps
            keys = ops.expand_dims(ops.cast(mask, "bool"), 1)
            attend = ops.logical_and(keys, ops.ones_like(ops.expand_dims(ops.cast(mask, "bool"), 2)))
        a = self.norm_1(x + self.drop(self.attention(x, x, x, attention_mask=attend, training=training),
                                      training=training))
        return self.norm_2(a + self.drop(self.project(self.expand(a)), training=training))

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "hidden": self.hidden, "dropout": self.dropout}
