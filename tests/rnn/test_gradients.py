"""‖∂h_T/∂x_t‖: exact on a hand-computable RNN, and the vanishing-gradient effect at T=100."""

import keras
import numpy as np
import pytest

from sentiment_lstm.rnn import layers
from sentiment_lstm.rnn.gradients import input_gradient_norms, set_forget_bias

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="gradients are measured with TensorFlow")


def test_norms_are_exact_for_a_linear_rnn():
    """h_t = x_t + a h_{t-1} gives h_T = sum_t a^(T-t) x_t, so ‖∂h_T/∂x_t‖_F = a^(T-t) sqrt(U)."""
    units, time, a = 3, 6, 0.5
    rnn = layers.SimpleRNN(units, activation="linear")
    rnn.build((None, time, units))
    rnn.set_weights([np.eye(units, dtype="float32"), a * np.eye(units, dtype="float32"), np.zeros(units, "float32")])
    x = np.random.default_rng(0).normal(size=(2, time, units))
    expected = a ** np.arange(time - 1, -1, -1) * np.sqrt(units)
    np.testing.assert_allclose(input_gradient_norms(rnn, x), expected, rtol=1e-5)


def profile(make, forget_bias=None, time=100, units=16):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(4, time, units)).astype("float32")
    layer = make(units)
    layer.build(x.shape)
    if forget_bias is not None:
        set_forget_bias(layer, forget_bias)
    return input_gradient_norms(layer, x)


def test_simple_rnn_gradient_vanishes_but_an_open_forget_gate_keeps_it():
    rnn = profile(layers.SimpleRNN)
    lstm_default = profile(layers.LSTM)  # unit_forget_bias: b_f = 1
    lstm_open = profile(layers.LSTM, forget_bias=5.0)
    assert rnn[0] < 1e-6 * rnn[-1]  # t=1 is millions of times weaker than t=T
    assert lstm_default[0] > 1e3 * rnn[0]  # the cell path already reaches further
    assert lstm_open[0] > 1e-2 * lstm_open[-1]  # f near 1: no vanishing over 100 steps
    assert lstm_open[0] > 1e6 * rnn[0]
