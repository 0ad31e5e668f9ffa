"""Step 2 of the pipeline: text -> token ids, with Keras' TextVectorization in tf.data.

Tokens: `standardize` strips HTML tags, lowercases Unicode text, keeps letters, digits,
in-word apostrophes ("don't") and `!`/`?` (each its own token), and turns every other
character into a space. Id 0 is padding, 1 is out-of-vocabulary. Reviews longer than
`max_length` tokens keep their first `max_length` tokens.
"""
import keras
import numpy as np
import tensorflow as tf

from sentiment_lstm.core.checks import whole_number
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.text.words import APOSTROPHES as _APOSTROPHES
from sentiment_lstm.text.words import HTML_TAG as _HTML_TAG
from sentiment_lstm.text.words import WORD_CHAR as _WORD_CHAR

_VECTORIZE_BATCH = 1024


@keras.saving.register_keras_serializable(package="sentiment_lstm")
def standardize(texts):
    """Normalize review strings before whitespace splitting (TextVectorization's `standardize`).

    In order: HTML tags (`<br />`, `<i>`) become spaces; text is lowercased as UTF-8
    ("ÉTÉ" -> "été"); typographic apostrophes become `'`; every character that is not
    a letter, digit, combining mark, whitespace, `'`, `!` or `?` becomes a space (so
    emoji and other symbols are dropped); apostrophes not between two word characters
    are dropped ("'quoted'" -> "quoted", "don't" stays); `!` and `?` get spaces around
    them; runs of whitespace collapse to one space, trimmed at both ends. Example:
    "<br />Great FILM!" -> "great film !". Pure `tf.strings` ops, so it traces into a
    SavedModel.

    Args:
        texts: string tensor (any shape) of UTF-8 reviews.

    Returns:
        A string tensor of the same shape.
    """
    x = tf.strings.regex_replace(texts, _HTML_TAG, " ")
    x = tf.strings.lower(x, encoding="utf-8")
    x = tf.strings.regex_replace(x, _APOSTROPHES, "'")
    x = tf.strings.regex_replace(x, rf"[^{_WORD_CHAR}\s'!?]", " ")
    x = tf.strings.regex_replace(x, rf"(^|[^{_WORD_CHAR}])'+", r"\1 ")
    x = tf.strings.regex_replace(x, rf"'+([^{_WORD_CHAR}]|$)", r" \1")
    x = tf.strings.regex_replace(x, r"([!?])", r" \1 ")
    x = tf.strings.regex_replace(x, r"\s+", " ")
    return tf.strings.strip(x)


def make_vectorizer(texts, max_tokens=20000):
    """A TextVectorization layer adapted on training text.

    Args:
        texts: list of training reviews only (never validation or test text).
        max_tokens: vocabulary size, including padding (0) and OOV (1).

    Returns:
        An adapted `keras.layers.TextVectorization` with `standardize`, int output and no
        fixed output length: a batch comes out int64 (batch, longest review in it).

    Raises:
        UserError: no text, or `max_tokens` below 3.
    """
    if len(texts) == 0:
        raise UserError("There is no training text to build the vocabulary from.")
    whole_number(max_tokens, "max_tokens", minimum=3)
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize=standardize, output_mode="int"
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(_VECTORIZE_BATCH))
    return vectorizer


def clip_tokens(tokens, max_length):
    """Keep the first `max_length` steps of token ids (truncate the end of long reviews).

    Used both in the training pipeline and inside the exported model (`ClipTokens`), so
    they agree. Plain slicing: works on TF, JAX and NumPy arrays, and TF ragged tensors.

    Args:
        tokens: int tensor (time,) or (batch, time) of token ids.
        max_length: the most steps to keep.

    Returns:
        `tokens` with at most `max_length` steps in its last axis.
    """
    return tokens[..., :max_length]


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class ClipTokens(keras.layers.Layer):
    """Layer form of `clip_tokens`: keeps the first `max_length` token ids of each row.

    Safe to save in `.keras` files and load in safe mode (no Lambda). A mask, if any,
    is clipped the same way.

    Args:
        max_length: the most steps to keep.
    """

    def __init__(self, max_length, **kwargs):
        super().__init__(**kwargs)
        whole_number(max_length, "max_length")
        self.max_length = int(max_length)
        self.supports_masking = True

    def call(self, tokens):
        return clip_tokens(tokens, self.max_length)

    def compute_mask(self, tokens, mask=None):
        return None if mask is None else clip_tokens(mask, self.max_length)

    def compute_output_shape(self, input_shape):
        steps = input_shape[-1]
        return (*input_shape[:-1], None if steps is None else min(steps, self.max_length))

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}


def tokenize(texts, vectorizer, max_length):
    """Token ids of `texts`, clipped to `max_length`, as an int32 RaggedTensor (rows >= 1 step).

    Tokenizes eagerly in large batches; `make_dataset` and the embedding pretraining
    (`pretrain.py`) both read reviews through it.
    """
    values, lengths = [], []
    for start in range(0, len(texts), _VECTORIZE_BATCH):
        batch = tf.constant(list(texts[start:start + _VECTORIZE_BATCH]), dtype=tf.string)
        ids = clip_tokens(keras.ops.convert_to_numpy(vectorizer(batch)), max_length)
        row_lengths = np.maximum(np.count_nonzero(ids, axis=1), 1)
        if ids.shape[1] == 0:
            ids = np.zeros((len(ids), 1), dtype=ids.dtype)
        values.append(ids[np.arange(ids.shape[1]) < row_lengths[:, None]])
        lengths.append(row_lengths)
    return tf.RaggedTensor.from_row_lengths(
        np.concatenate(values).astype(np.int32), np.concatenate(lengths)
    )
