"""Cells: the equations (against NumPy), parity with Keras' cells, config, validation."""

import keras
import numpy as np
import pytest

from sentiment_lstm.rnn.cells import GRUCell, LSTMCell, SimpleRNNCell

PAIRS = [
    (SimpleRNNCell, keras.layers.SimpleRNNCell),
    (LSTMCell, keras.layers.LSTMCell),
    (GRUCell, keras.layers.GRUCell),
]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 7, 5)).astype("float32")
RIGHT_PADDED = np.arange(7)[None, :] < np.array([[7], [5], [2], [0]])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_lstm(x, kernel, recurrent_kernel, bias):
    """The six LSTM equations, transcribed independently in NumPy."""
    units = recurrent_kernel.shape[0]
    W_ix, W_fx, W_cx, W_ox = np.split(kernel, 4, axis=1)
    W_ih, W_fh, W_ch, W_oh = np.split(recurrent_kernel, 4, axis=1)
    b_i, b_f, b_c, b_o = np.split(bias, 4)
    h = np.zeros((x.shape[0], units))
    c = np.zeros((x.shape[0], units))
    steps = []
    for x_t in np.moveaxis(x, 1, 0):
        i = sigmoid(x_t @ W_ix + h @ W_ih + b_i)
        f = sigmoid(x_t @ W_fx + h @ W_fh + b_f)
        c_tilde = np.tanh(x_t @ W_cx + h @ W_ch + b_c)
        c = f * c + i * c_tilde
        o = sigmoid(x_t @ W_ox + h @ W_oh + b_o)
        h = o * np.tanh(c)
        steps.append(dict(i=i, f=f, c_tilde=c_tilde, c=c, o=o, h=h))
    return steps


def random_weights(layer):
    layer.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer.get_weights()


def test_lstm_cell_follows_the_six_equations():
    rnn = keras.layers.RNN(LSTMCell(3), return_sequences=True, return_state=True)
    rnn(X)
    kernel, recurrent_kernel, bias = random_weights(rnn)
    outputs, h_last, c_last = (np.asarray(y) for y in rnn(X))
    expected = numpy_lstm(X.astype("float64"), kernel, recurrent_kernel, bias)
    np.testing.assert_allclose(outputs, np.stack([s["h"] for s in expected], 1), atol=1e-5)
    np.testing.assert_allclose(h_last, expected[-1]["h"], atol=1e-5)
    np.testing.assert_allclose(c_last, expected[-1]["c"], atol=1e-5)


def test_lstm_transition_returns_every_quantity_of_the_equations():
    cell = LSTMCell(3)
    cell.build((None, 5))
    kernel, recurrent_kernel, bias = random_weights(cell)
    h0, c0 = (RNG.normal(size=(4, 3)).astype("float32") for _ in range(2))
    quantities = cell.transition(cell.project(X[:, 0]), [h0, c0], cell.recurrent_weights())
    assert tuple(quantities) == LSTMCell.quantity_names == ("i", "f", "c_tilde", "c", "o", "h")
    z = X[:, 0] @ kernel + h0 @ recurrent_kernel + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=1)
    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)
    c = f * c0 + i * np.tanh(z_c)
    expected = dict(i=i, f=f, c_tilde=np.tanh(z_c), c=c, o=o, h=o * np.tanh(c))
    for name, value in expected.items():
        np.testing.assert_allclose(np.asarray(quantities[name]), value, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("ours, theirs", PAIRS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask", [None, RIGHT_PADDED])
def test_cell_in_keras_rnn_matches_keras_cell(ours, theirs, go_backwards, mask):
    kwargs = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    reference = keras.layers.RNN(theirs(3), **kwargs)
    rnn = keras.layers.RNN(ours(3), **kwargs)
    reference(X), rnn(X)
    random_weights(reference)
    rnn.set_weights(reference.get_weights())
    for a, b in zip(rnn(X, mask=mask), reference(X, mask=mask)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_weights_have_keras_names_shapes_and_copy_back(ours, theirs):
    reference, cell = theirs(3), ours(3)
    reference.build((None, 5)), cell.build((None, 5))
    assert [(w.name, w.shape) for w in cell.weights] == [(w.name, w.shape) for w in reference.weights]
    random_weights(cell)
    reference.set_weights(cell.get_weights())
    for a, b in zip(reference.get_weights(), cell.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unit_forget_bias_starts_the_forget_gate_at_one():
    cell = LSTMCell(2)
    cell.build((None, 3))
    np.testing.assert_array_equal(np.asarray(cell.bias), [0, 0, 1, 1, 0, 0, 0, 0])
    plain = LSTMCell(2, unit_forget_bias=False)
    plain.build((None, 3))
    np.testing.assert_array_equal(np.asarray(plain.bias), np.zeros(8))


def test_simple_rnn_cell_sigmoid_is_selectable():
    cell = SimpleRNNCell(2, activation="sigmoid")
    cell.build((None, 3))
    kernel, recurrent_kernel, bias = random_weights(cell)
    x, h0 = X[:, 0, :3], RNG.normal(size=(4, 2)).astype("float32")
    h, _ = cell(x, [h0])
    np.testing.assert_allclose(np.asarray(h), sigmoid(x @ kernel + h0 @ recurrent_kernel + bias), atol=1e-6)


@pytest.mark.parametrize("cell_class", [SimpleRNNCell, LSTMCell, GRUCell])
def test_config_round_trip_rebuilds_the_same_cell(cell_class):
    cell = cell_class(3, activation="sigmoid", dropout=0.25, recurrent_dropout=0.5, seed=7, use_bias=False)
    clone = cell_class.from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()
    config = cell.get_config()
    assert (config["dropout"], config["recurrent_dropout"], config["seed"], config["use_bias"]) == (0.25, 0.5, 7, False)


@pytest.mark.parametrize("cell_class", [SimpleRNNCell, LSTMCell, GRUCell])
@pytest.mark.parametrize(
    "kwargs, received",
    [
        (dict(units=0), "units=0"),
        (dict(units=-3), "units=-3"),
        (dict(units=2.5), "units=2.5"),
        (dict(units=3, activation="no_such_activation"), "activation='no_such_activation'"),
        (dict(units=3, dropout=1.5), "dropout=1.5"),
        (dict(units=3, recurrent_dropout=-0.1), "recurrent_dropout=-0.1"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_value(cell_class, kwargs, received):
    with pytest.raises(ValueError, match=f"Received: {received}"):
        cell_class(**kwargs)


def test_lstm_and_gru_reject_bad_recurrent_activation_and_gru_variant():
    with pytest.raises(ValueError, match="recurrent_activation='bogus'"):
        LSTMCell(3, recurrent_activation="bogus")
    with pytest.raises(ValueError, match="reset_after=False"):
        GRUCell(3, reset_after=False)


def test_dropout_mask_is_fixed_across_time_steps():
    """One input feature, constant over time, dropped with rate 1/2. With one mask for
    all steps each row sees either the input at every step or zero at every step, so
    its output is exactly one of two sequences; a fresh mask per step would mix them."""
    x = np.zeros((64, 6, 1), "float32")
    x[:, :, 0] = 1.0
    rnn = keras.layers.RNN(SimpleRNNCell(2, dropout=0.5, seed=1), return_sequences=True)
    rnn(x)
    random_weights(rnn)
    dropped = np.asarray(rnn(x * 0.0, training=True))[0]
    kept = np.asarray(rnn(x * 2.0, training=False))[0]  # kept inputs are scaled by 1/(1-rate)
    outputs = np.asarray(rnn(x, training=True))
    is_dropped = np.all(np.isclose(outputs, dropped, atol=1e-6), axis=(1, 2))
    is_kept = np.all(np.isclose(outputs, kept, atol=1e-6), axis=(1, 2))
    assert np.all(is_dropped | is_kept)
    assert 10 < is_dropped.sum() < 54
