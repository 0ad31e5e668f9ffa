"""The time loop under the sequence layers: `step` over the leading (time) axis.

Time-major in and out, so nothing is transposed per call. On TensorFlow it is a
`tf.while_loop` over TensorArrays with `maximum_iterations` set (which XLA needs);
on other backends `keras.ops.scan`.
"""

import keras
from keras import ops


def time_loop(step, inputs, states, outputs, reverse=False):
    """Run `step(x_t, states) -> (ys_t, states)` for t over `inputs`' first axis.

    Args:
        step: maps an input step and the list of states to a tuple of `outputs`
            tensors and the new list of states.
        inputs: `(time, ...)`.
        states: the initial states, a list of tensors.
        outputs: how many tensors `step` emits per step (0 for none).
        reverse: run from the last step to the first. Emitted values are still stored
            at their own step's index.

    Returns:
        `(ys, final_states)`: ys a tuple of `outputs` tensors `(time, ...)`.
    """
    if keras.backend.backend() == "tensorflow":
        return _tf_time_loop(step, inputs, list(states), outputs, reverse)

    def body(carry, x_t):
        ys_t, carry = step(x_t, list(carry))
        return carry, tuple(ys_t)

    final, ys = ops.scan(body, list(states), inputs, reverse=reverse)
    return tuple(ys), list(final)


def _tf_time_loop(step, inputs, states, outputs, reverse):
    import tensorflow as tf

    time = tf.shape(inputs)[0]
    xs = tf.TensorArray(inputs.dtype, size=time, element_shape=inputs.shape[1:]).unstack(inputs)
    ys = tuple(tf.TensorArray(inputs.dtype, size=time) for _ in range(outputs))

    def body(k, states, ys):
        t = time - 1 - k if reverse else k
        ys_t, states = step(xs.read(t), states)
        return k + 1, list(states), tuple(ta.write(t, y) for ta, y in zip(ys, ys_t))

    _, final, ys = tf.while_loop(
        lambda k, *_: k < time, body, (tf.constant(0), states, ys), maximum_iterations=time
    )
    return tuple(ta.stack() for ta in ys), list(final)
