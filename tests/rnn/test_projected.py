"""`Recurrent(projected=True)`: handed `W_x x_t + b` (`cell.project`) instead of `x`, each
layer computes what it computes from `x`, on every path (one row: the LSTM's compiled
chunks; more rows than those take: packed sequences; the other cells: the time loop),
with and without `return_sequences`, masked and backwards; training refuses it."""
import keras
import numpy as np
import pytest

from sentiment_lstm import rnn
from sentiment_lstm.rnn import compiled

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="serving's path is TensorFlow's")

RNG = np.random.default_rng(2)
TIME, FEATURES, UNITS, TOL = 70, 7, 4, 1e-5


def projected(layer, x):
    """`cell.project` of every step of `x` `(batch, time, features)`."""
    return tf.transpose(layer.cell.project(tf.transpose(tf.constant(x), (1, 0, 2))), (1, 0, 2))


@pytest.mark.parametrize("rows", [1, compiled.MOST_ROWS + 1], ids=["one-row", "past-the-compiled-rows"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("layer_class", [rnn.LSTM, rnn.GRU, rnn.SimpleRNN], ids=lambda c: c.__name__)
def test_projected_inputs_give_what_the_inputs_give(layer_class, return_sequences, go_backwards, rows):
    layer = layer_class(UNITS, return_sequences=return_sequences, go_backwards=go_backwards)
    x = RNG.normal(size=(rows, TIME, FEATURES)).astype("float32")
    lengths = RNG.integers(0, TIME + 1, rows)
    lengths[0] = TIME
    mask = np.arange(TIME)[None, :] < lengths[:, None]
    expected = layer(x, mask=mask).numpy()
    run = tf.function(lambda inputs, mask: layer(inputs, mask=mask, projected=True))
    np.testing.assert_allclose(run(projected(layer, x), tf.constant(mask)).numpy(), expected, atol=TOL, rtol=0)


def test_training_refuses_projected_inputs():
    layer = rnn.LSTM(UNITS)
    x = RNG.normal(size=(2, 5, FEATURES)).astype("float32")
    layer(x)
    with pytest.raises(ValueError, match="projected"):
        layer(projected(layer, x), training=True, projected=True)
