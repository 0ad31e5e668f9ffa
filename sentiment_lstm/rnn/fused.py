"""The LSTM recurrence with its backward pass written out by hand.

Autodiff through a time loop replays every operation of every step backwards, with
a stored intermediate for each. Here the forward pass (still `LSTMCell.transition`)
keeps only `h_t` and `c_t`; the backward pass recomputes every step's gates in one
matrix product, and everything in it that does not depend on the next step's
gradient is computed for all steps at once, outside the loop. What is left in the
loop is a few operations per step (backpropagation through time, from
`c_t = f_t ⊙ c_{t-1} + i_t ⊙ c~_t` and `h_t = o_t ⊙ tanh(c_t)`):

    dh_t = dH_t + dz_{t+1} W_hᵀ
    dc_t = dC_t + dh_t ⊙ o_t ⊙ (1 - tanh² c_t) + dc_{t+1} ⊙ f_{t+1}
    dz_t = [dc_t ⊙ c~_t ⊙ i_t(1 - i_t),   dc_t ⊙ c_{t-1} ⊙ f_t(1 - f_t),
            dc_t ⊙ i_t ⊙ (1 - c~_t²),     dh_t ⊙ tanh(c_t) ⊙ o_t(1 - o_t)]

where `z_t = x_proj_t + h_{t-1} W_h` holds the four gates' pre-activations and
`dH_t, dC_t` are the gradients arriving from outside at step t. Then
`d x_proj = dz` and `dW_h = Σ_t h_{t-1}ᵀ dz_t`: one matrix product over all steps.
Everything is time-major, `(time, batch, ...)`, as the loop reads it.

It holds for σ = sigmoid, tanh activations and no recurrent dropout; `fusable`
says when. The tests compare its gradients with Keras' LSTM to 1e-5.
"""

import keras
from keras import ops

from sentiment_lstm.rnn.cells import LSTMCell
from sentiment_lstm.rnn.loop import time_loop


def fusable(cell, recurrent_mask):
    """Whether `lstm_recurrence` computes this cell's recurrence (and its gradient)."""
    return (
        type(cell) is LSTMCell  # exactly: a subclass may change the equations
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
        and recurrent_mask is None
    )


def lstm_recurrence(cell, x_proj, h0, c0):
    """h_t and c_t of every step, `(time, batch, units)` each, from time-major `x_proj`
    `(time, batch, 4 * units)` and the initial states `(batch, units)`."""
    W_h = ops.copy(cell.recurrent_kernel)  # a tensor: the gradient to the variable is ours
    return _recurrence(cell)(x_proj, h0, c0, W_h)


def step_factors(I, F, C_tilde, O, C, C_prev):
    """What backpropagating through a step needs from its forward pass, for any number
    of steps at once: `o ⊙ (1 - tanh² c)`, and the four gate factors of `dz`,
    `[c~ ⊙ i(1 - i), c_{t-1} ⊙ f(1 - f), i ⊙ (1 - c~²), tanh(c) ⊙ o(1 - o)]` (last axis)."""
    tanh_C = ops.tanh(C)
    factors = [C_tilde * I * (1.0 - I), C_prev * F * (1.0 - F), I * (1.0 - C_tilde**2), tanh_C * O * (1.0 - O)]
    return O * (1.0 - tanh_C**2), ops.concatenate(factors, axis=-1)


def backward_step(dH_t, o_dtanh_t, f_next_t, factors_t, dh_rec, dc_next, W_h_T, dC_t=None):
    """One step of backpropagation through time (the module's equations).

    Returns:
        `dz_t`, then `dh` and `dc` handed to the step before: `dz_t W_hᵀ` and `dc_t`.
    """
    dh = dH_t + dh_rec
    dc = dh * o_dtanh_t + dc_next * f_next_t
    if dC_t is not None:
        dc = dc + dC_t
    dz = ops.concatenate([dc, dc, dc, dh], axis=-1) * factors_t
    return dz, ops.matmul(dz, W_h_T), dc


def _shift(x, first):
    """`x` moved one step later in time, `first` at step 0: `[first, x_0, ..., x_{T-2}]`."""
    return ops.concatenate([first[None], x[:-1]], axis=0)


def _recurrence(cell):
    @ops.custom_gradient
    def recurrence(x_proj, h0, c0, W_h):
        weights = {"W_h": W_h}

        def step(x_t, states):
            q = cell.transition(x_t, states, weights)
            return (q["h"], q["c"]), [q["h"], q["c"]]

        (H, C), _ = time_loop(step, x_proj, [h0, c0], outputs=2)

        def grad(*upstream):
            dH, dC = upstream[0] if len(upstream) == 1 else upstream  # JAX passes one tuple
            dH = ops.zeros_like(H) if dH is None else dH
            dC = ops.zeros_like(C) if dC is None else dC
            units = W_h.shape[0]
            H_prev = _shift(H, h0)
            # The gates of every step again, in one matrix product instead of a loop.
            Z = x_proj + ops.reshape(ops.matmul(ops.reshape(H_prev, (-1, units)), W_h), ops.shape(x_proj))
            Z_i, Z_f, Z_c, Z_o = ops.split(Z, 4, axis=-1)
            I, F, C_tilde, O = ops.sigmoid(Z_i), ops.sigmoid(Z_f), ops.tanh(Z_c), ops.sigmoid(Z_o)
            F_next = ops.concatenate([F[1:], ops.zeros_like(F[:1])], axis=0)
            o_dtanh, factors = step_factors(I, F, C_tilde, O, C, _shift(C, c0))
            # Per step, what the loop reads, all steps at once here.
            into_loop = ops.concatenate([dH, dC, o_dtanh, F_next, factors], axis=-1)  # (time, batch, 8 * units)
            W_h_T = ops.transpose(W_h)
            pieces = [units, 2 * units, 3 * units, 4 * units]

            def back_step(inputs, states):
                dH_t, dC_t, o_dtanh_t, f_next_t, factors_t = ops.split(inputs, pieces, axis=-1)
                dz, dh_rec, dc = backward_step(dH_t, o_dtanh_t, f_next_t, factors_t, *states, W_h_T, dC_t)
                return (dz,), [dh_rec, dc]

            zeros = ops.zeros_like(h0)
            (dZ,), (dh0, dc_first) = time_loop(back_step, into_loop, [zeros, zeros], outputs=1, reverse=True)
            dW_h = ops.matmul(ops.transpose(ops.reshape(H_prev, (-1, units))), ops.reshape(dZ, (-1, 4 * units)))
            return dZ, dh0, dc_first * F[0], dW_h

        return (H, C), grad

    return recurrence
