"""How far back a recurrent layer's gradient reaches: `‖∂h_T/∂x_t‖` for t = 1..T.

The measurement behind "why does the LSTM help with vanishing gradients?". In an
LSTM, `∂c_T/∂c_t = ∏_{k>t} f_k` along the cell path, so the gradient survives as long
as the forget gates stay near 1; a simple RNN has only the path through
`W_h` and `f'`, which shrinks at every step. `scripts/gradient_flow.py` plots it.
"""

import numpy as np


def input_gradient_norms(layer, inputs):
    """Frobenius norm of the Jacobian `∂h_T/∂x_t` for every step t, averaged over the batch.

    Args:
        layer: A recurrent layer returning the final `h_T`, `(batch, units)`.
        inputs: `(batch, time, features)` float array.

    Returns:
        A `(time,)` NumPy array; entry `t - 1` is the mean over the batch of `‖∂h_T/∂x_t‖_F`.
    """
    import tensorflow as tf  # gradients need a backend; the project's scripts run on TensorFlow

    x = tf.constant(np.asarray(inputs, "float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h_T = layer(x)  # (batch, units)
        rows = [h_T[:, u] for u in range(h_T.shape[-1])]
    squared = sum(tf.square(tape.gradient(row, x)) for row in rows)  # (batch, time, features)
    return np.sqrt(np.asarray(tf.reduce_sum(squared, axis=-1))).mean(axis=0)


def set_forget_bias(lstm, value):
    """Set an LSTM's forget-gate bias `b_f` (the second quarter of `bias`) to `value`."""
    kernel, recurrent_kernel, bias = lstm.get_weights()
    units = recurrent_kernel.shape[0]
    bias[units : 2 * units] = value
    lstm.set_weights([kernel, recurrent_kernel, bias])
