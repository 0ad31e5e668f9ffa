"""Adam that updates only the embedding rows a batch uses (`--lazy-adam`).

Keras' Adam turns an embedding's sparse gradient (`tf.IndexedSlices`, one row per
token of the batch) into a dense one and rewrites every row of the table, its first
moment m and its second moment v, on every step. With n-gram tables of a million rows
(`--bigram-dim`, `--trigram-dim`) that dense pass costs more than the network itself. For
a sparse gradient this optimizer updates only the rows the batch touched, by the same
equations; the other rows, and their m and v, are left as they are:

    g_r   = sum of the batch's gradients of row r
    m_r  <- b1 m_r + (1 - b1) g_r
    v_r  <- b2 v_r + (1 - b2) g_r^2
    w_r  <- w_r - lr sqrt(1 - b2^t) / (1 - b1^t) m_r / (sqrt(v_r) + eps)

So it is not Adam for the embeddings (Adam would also decay an untouched row's m
and v and keep moving it by its old momentum); it is TensorFlow Addons' LazyAdam. Dense
gradients (the LSTM, the softmax layer) get Keras' Adam unchanged.

A row used twice in a batch gets the sum of its gradients, squared for v, as Adam of
the dense gradient would have it. (Keras' Adam, handed the slices, squares each before
summing; and its dense pass is keras-team/keras#19992.)
"""
import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="sentiment_lstm")
class LazyAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, with lazy updates of the rows of sparse gradients.

    Example:

    >>> optimizer = LazyAdam(1e-3)
    >>> table = keras.Variable(np.ones((4, 2)))
    >>> optimizer.apply([tf.IndexedSlices(tf.ones((1, 2)), [2], [4, 2])], [table])
    >>> table.numpy()[:, 0]   # only row 2 moved
    array([1.   , 1.   , 0.999, 1.   ], dtype=float32)
    """

    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices) or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        rows, position = tf.unique(gradient.indices)
        g = tf.math.unsorted_segment_sum(ops.cast(gradient.values, variable.dtype), position, tf.size(rows))
        step = ops.cast(self.iterations + 1, variable.dtype)
        b1, b2 = ops.cast(self.beta_1, variable.dtype), ops.cast(self.beta_2, variable.dtype)
        alpha = ops.cast(learning_rate, variable.dtype) * ops.sqrt(1 - b2 ** step) / (1 - b1 ** step)

        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        m_rows = b1 * ops.take(m, rows, axis=0) + (1 - b1) * g
        v_rows = b2 * ops.take(v, rows, axis=0) + (1 - b2) * ops.square(g)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(variable, tf.IndexedSlices(alpha * m_rows / (ops.sqrt(v_rows) + self.epsilon), rows))
