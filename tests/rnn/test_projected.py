"""`Recurrent(projected=True)`: handed `W_x x_t + b` (`cell.project`) instead of `x`, each
layer computes what it computes from `x`, with and without `return_sequences`, masked,
forwards and backwards, on every path: the LSTM's compiled chunks up to
`compiled.MOST_PROJECTED_ROWS` rows (past `MOST_ROWS`, where its raw inputs run packed),
packed sequences past that, the time loop for the other cells; training refuses it."""
import keras
import numpy as np
import pytest

from sentiment_lstm import rnn
from sentiment_lstm.rnn import compiled

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="serving's path is TensorFlow's")

RNG = np.random.default_rng(2)
TIME, FEATURES, UNITS, TOL = 70, 7, 4, 1e-5
CASES = [  # (layer, rows, return_sequences, go_backwards): each path, each direction
    (rnn.LSTM, 1, False, False),  # compiled chunks
    (rnn.LSTM, compiled.MOST_ROWS + 8, False, True),  # compiled chunks (raw inputs would run packed)
    (rnn.LSTM, compiled.MOST_PROJECTED_ROWS + 1, False, False),  # packed sequences
    (rnn.LSTM, 5, True, True),  # packed sequences, every step
    (rnn.GRU, 5, False, True),
    (rnn.GRU, 5, True, False),
    (rnn.SimpleRNN, 5, False, False),
    (rnn.SimpleRNN, 5, True, True),
]


def projected(layer, x):
    """`cell.project` of every step of `x` `(batch, time, features)`."""
    return tf.transpose(layer.cell.project(tf.transpose(tf.constant(x), (1, 0, 2))), (1, 0, 2))


@pytest.mark.parametrize("layer_class,rows,return_sequences,go_backwards", CASES,
                         ids=[f"{c.__name__}-{r}-rows-{'sequences' if s else 'last'}-{'backwards' if b else 'forwards'}"
                              for c, r, s, b in CASES])
def test_projected_inputs_give_what_the_inputs_give(layer_class, rows, return_sequences, go_backwards,
                                                    recurrence_runs):
    layer = layer_class(UNITS, return_sequences=return_sequences, go_backwards=go_backwards)
    x = RNG.normal(size=(rows, TIME, FEATURES)).astype("float32")
    lengths = RNG.integers(0, TIME + 1, rows)
    lengths[0] = TIME
    mask = np.arange(TIME)[None, :] < lengths[:, None]
    expected = layer(x, mask=mask).numpy()
    before = dict(recurrence_runs)
    run = tf.function(lambda inputs, mask: layer(inputs, mask=mask, projected=True))
    np.testing.assert_allclose(run(projected(layer, x), tf.constant(mask)).numpy(), expected, atol=TOL, rtol=0)
    if layer_class is rnn.LSTM:
        chunks = not return_sequences and rows <= compiled.MOST_PROJECTED_ROWS
        assert recurrence_runs["compiled"] - before["compiled"] == int(chunks)
        assert recurrence_runs["packed"] - before["packed"] == int(not chunks)


def test_training_refuses_projected_inputs():
    layer = rnn.LSTM(UNITS)
    x = RNG.normal(size=(2, 5, FEATURES)).astype("float32")
    layer(x)
    with pytest.raises(ValueError, match="projected"):
        layer(projected(layer, x), training=True, projected=True)


@pytest.mark.parametrize("layer_class,rows,return_sequences,go_backwards", CASES,
                         ids=[f"{c.__name__}-{r}-rows-{'sequences' if s else 'last'}-{'backwards' if b else 'forwards'}"
                              for c, r, s, b in CASES])
def test_a_projecting_function_gives_what_projected_inputs_give(layer_class, rows, return_sequences, go_backwards,
                                                                recurrence_runs):
    """`projected=f`: the layer is handed ids, and `f` gives `W_x x_t + b` from rows of
    them (as `folding.py` reads a table): the same outputs as `projected=True` on the
    projected ids, with `f` called on each block's packed rows `(rows, 1)` where packed
    sequences run (never on the whole `(batch, time, 1)`), on the whole batch elsewhere."""
    layer = layer_class(UNITS, return_sequences=return_sequences, go_backwards=go_backwards)
    layer.build((None, None, FEATURES))
    table = tf.constant(RNG.normal(size=(50, layer.cell.gates * UNITS)).astype("float32"))
    ids = RNG.integers(1, 50, (rows, TIME, 1))
    lengths = RNG.integers(0, TIME + 1, rows)
    lengths[0] = TIME
    mask = tf.constant(np.arange(TIME)[None, :] < lengths[:, None])
    expected = layer(tf.gather(table, ids[..., 0]), mask=mask, projected=True).numpy()
    ranks = []

    def project(rows_of_ids):
        ranks.append(len(rows_of_ids.shape))
        return tf.gather(table, rows_of_ids[..., 0])

    before = dict(recurrence_runs)
    run = tf.function(lambda inputs, mask: layer(inputs, mask=mask, projected=project))
    np.testing.assert_allclose(run(tf.constant(ids), mask).numpy(), expected, atol=TOL, rtol=0)
    packs = layer_class is rnn.LSTM and (return_sequences or rows > compiled.MOST_PROJECTED_ROWS)
    if layer_class is rnn.LSTM:
        assert recurrence_runs["packed"] - before["packed"] == int(packs)
    assert set(ranks) == ({2} if layer_class is rnn.LSTM and (packs or not return_sequences) else {3})
