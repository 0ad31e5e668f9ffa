"""The LSTM recurrence over packed sequences, for training on TensorFlow.

`fused.py` runs every row of a batch for every time step, padding included: on
the project's benchmark batches (64 reviews of 20 to 200 tokens) about half of
all its arithmetic is spent on padding. Here rows are sorted by length, longest
first, and time is cut into blocks of `BLOCK` steps. Block b runs only the rows
still going at its first step, `active[b]` of them, always a prefix of the sorted
batch. So the input projection `W_x x + b`, the recurrence and the whole backward
pass touch only the valid steps, plus a row's few steps to the end of its last
block. One loop iteration runs one block, its steps written out (measured before
the overlap below: 4, 8 or 16 steps per block ran equally fast; 8 wastes little past
a row's end).

The "packed" layout holds the steps of the rows a block runs, block after block,
time-major inside a block: `(sum over blocks of BLOCK * active[b], ...)`. Each step
is still `LSTMCell.transition`, and the forward pass keeps every step's gates; the
backward pass is `fused.py`'s, on the packed layout. A row's outputs past its last
valid step are never read: they get no gradient, so they send none back.

The recurrence itself is a chain of small operations that keeps one core busy. So
the work that does not depend on it is done block by block inside the loop, where
TensorFlow runs it on the other core beside the chain: the input projection
`W_x x + b` of a block in the forward pass, and a block's share of the input and
weight gradients in the backward pass (measured on the benchmark: 1.35x -> 1.53x
Keras' LSTM per training step, against hoisting them out of the loop).

Inference runs over packed sequences too (`lstm_inference`): the same blocks
forward only, keeping each step's `h` (and `c` where asked), so a batch of reviews
of mixed lengths computes only its valid steps, and a review of any length reads its
input projection one block at a time (never a `(time, batch, 4 * units)` tensor).

TensorFlow only (a loop whose state shrinks needs its shape invariants) and not
under XLA (the shapes depend on the data); `applies()` says when.
"""

import keras
import tensorflow as tf

from sentiment_lstm.rnn import fused

BLOCK = 8  # steps per loop iteration


def applies(cell, recurrent_mask):
    """Whether `lstm_recurrence` may run here: a standard LSTM (`fused.fusable`) on
    TensorFlow, outside an XLA compilation."""
    return (
        keras.backend.backend() == "tensorflow"
        and fused.fusable(cell, recurrent_mask)
        and cell.use_bias
        and not _in_xla_context()
    )


def _in_xla_context():
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # a TensorFlow without it: assume XLA may be on
        return True
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def lstm_inference(cell, x, lengths, h0, c0, steps=None, with_c=True, weights=None, projected=False):
    """The LSTM over the valid steps of `x`, forward only (no gradient is written for it):
    the blocks of the forward pass of `lstm_recurrence`, emitting `h` (and `c`) alone.

    Arguments and returns as `lstm_recurrence` (without dropout): `({"h": H, "c": C}, read)`,
    `C` only `with_c`. `weights`: `{"W_x", "b", "W_h"}` tensors to use instead of the cell's.
    `projected`: `x` is already each step's `W_x x_t + b`, `(batch, time, 4 * units)`;
    or a function that gives it from rows of `x`, `(rows, features) -> (rows, 4 * units)`,
    called on each block's packed rows inside the loop.
    """
    layout = _Layout(lengths, tf.shape(x)[1], steps)
    x_packed = tf.gather(tf.reshape(x, (-1, x.shape[-1])), layout.source)  # (packed, features)
    h0_sorted, c0_sorted = tf.gather(h0, layout.order), tf.gather(c0, layout.order)
    names = ("h", "c") if with_c else ("h",)
    if weights is None:
        weights = {"W_x": tf.convert_to_tensor(cell.kernel), "b": tf.convert_to_tensor(cell.input_bias()),
                   **cell.recurrent_weights()}
    outputs, _ = layout.blocks_loop(_forward_block(cell, weights, names, projected), [x_packed],
                                    [h0_sorted, c0_sorted], outputs=len(names))
    return dict(zip(names, outputs)), layout.read


def _forward_block(cell, weights, names, projected=False):
    """`body` of `blocks_loop` for the forward pass: a block's input projection (none
    where the inputs are `projected` already; `projected(rows)` where it is a function), then its `BLOCK` steps of
    `cell.transition`, written out; it emits each of `names` (quantities of the
    transition) for the block's steps, packed."""

    def block(inputs, states, n):
        # This block's input projection: it does not wait for the recurrence, so
        # TensorFlow runs it on the other core while the previous block recurs.
        rows = inputs[0]
        x_proj = projected(rows) if callable(projected) else rows if projected else cell.project(rows, weights=weights)
        x_proj = _steps(x_proj, n)  # (BLOCK, n, 4U)
        h, c = (s[:n] for s in states)  # the rows that run in this block
        steps = []
        for j in range(BLOCK):
            q = cell.transition(x_proj[j], [h, c], weights)
            h, c = q["h"], q["c"]
            steps.append(q)
        # Each quantity's BLOCK steps, packed, in one copy (not one write per step).
        return tuple(tf.concat([q[name] for q in steps], 0) for name in names), [h, c]

    return block


def lstm_recurrence(cell, x, lengths, h0, c0, input_mask=None, steps=None, with_c=True):
    """The LSTM over the valid steps of `x`: h_t and c_t of every step, packed.

    Args:
        cell: a `LSTMCell` for which `applies` holds.
        x: the input, batch-major `(batch, time, features)`.
        lengths: int `(batch,)`, each row's number of valid steps.
        steps: int `(batch, time)`: row b's k-th valid step is `x[b, steps[b, k]]` for
            k < lengths[b] (`layers._valid_first`); None: its first `lengths[b]` steps.
        h0, c0: the initial states `(batch, units)`.
        input_mask: the input dropout mask `(batch, features)`, or None.
        with_c: whether `c` is wanted (without, the backward pass has less to do).

    Returns:
        `(sequences, read)`: `sequences` is `{"h": H, "c": C}` (`{"h": H}` without
        `with_c`) in the packed layout,
        and `read(sequence, before, index)` gives, for an int `index` `(batch, k)`,
        row b's state after `index[b, j]` of its steps (`before[b]` for 0), as
        `(batch, k, units)`: `layers._pick` for the packed layout.
    """
    layout = _Layout(lengths, tf.shape(x)[1], steps)
    x_packed = layout.gather_steps(tf.reshape(x, (-1, x.shape[-1])))  # (packed, features)
    if input_mask is not None:
        x_packed = x_packed * tf.gather(input_mask, layout.row_of_packed)
    h0_sorted, c0_sorted = tf.gather(h0, layout.order), tf.gather(c0, layout.order)
    # The weights as tensors: the gradients to the variables are ours.
    W_x, W_h = tf.identity(cell.kernel), tf.identity(cell.recurrent_kernel)
    b = tf.identity(cell.input_bias())
    recurrence = _recurrence(cell, layout, with_c)(x_packed, W_x, b, h0_sorted, c0_sorted, W_h)
    sequences = dict(zip(("h", "c"), recurrence)) if with_c else {"h": recurrence}
    return sequences, layout.read


class _Layout:
    """Where each step of each row lives in the packed layout (all int32 tensors)."""

    def __init__(self, lengths, time, steps=None, block=BLOCK):
        lengths = tf.cast(lengths, tf.int32)
        self.batch = batch = tf.shape(lengths)[0]
        self.order = tf.argsort(lengths, direction="DESCENDING", stable=True)  # sorted row -> row
        self.rank = tf.math.invert_permutation(self.order)  # row -> sorted row
        sorted_lengths = tf.gather(lengths, self.order)
        longest = tf.reduce_max(tf.concat([sorted_lengths, [1]], 0))  # one block at least
        self.block = block
        self.blocks = (longest + block - 1) // block
        span = self.blocks * block  # steps the blocks cover
        starts = tf.range(self.blocks) * block
        # Rows that run in block b: those still valid at its first step.
        self.active = tf.reduce_sum(tf.cast(sorted_lengths[None, :] > starts[:, None], tf.int32), axis=1)
        self.sizes = self.active * block  # packed rows of each block
        runs = tf.range(batch)[None, :] < tf.gather(self.active, tf.range(span) // block)[:, None]
        # position[t, r]: where step t of sorted row r is packed (block by block, time-major).
        position = tf.reshape(tf.cumsum(tf.cast(tf.reshape(runs, [-1]), tf.int32)) - 1, (span, batch))
        self.position = tf.where(runs, position, -1)
        where = tf.cast(tf.where(runs), tf.int32)  # (packed, 2): [t, sorted row] in packed order
        step_of_packed, sorted_row_of_packed = where[:, 0], where[:, 1]
        self.packed = tf.shape(where)[0]
        self.row_of_packed = tf.gather(self.order, sorted_row_of_packed)
        # Which row of x, flattened `(batch * time, features)`, each packed step reads. A
        # row's last block may run past its valid steps, even past `time`: those steps
        # read any row of x (their outputs are never read, so they send no gradient).
        step = tf.minimum(step_of_packed, time - 1)
        if steps is not None:
            step = tf.gather_nd(tf.cast(steps, tf.int32), tf.stack([self.row_of_packed, step], 1))
        self.source = self.row_of_packed * time + step
        # Which packed step reads each row of x, or `packed` (a zero row) where no valid step does.
        valid = step_of_packed < tf.gather(lengths, self.row_of_packed)
        self.reader = tf.tensor_scatter_nd_update(
            tf.fill([batch * time], self.packed), tf.boolean_mask(self.source, valid)[:, None],
            tf.boolean_mask(tf.range(self.packed), valid))
        # Each packed step's previous step, in [initial states (batch rows), packed rows].
        previous = tf.gather_nd(self.position, tf.stack([tf.maximum(step_of_packed - 1, 0), sorted_row_of_packed], 1))
        self.previous = tf.where(step_of_packed > 0, batch + previous, sorted_row_of_packed)
        # Each packed step's next step, or `packed` (a zero row) where there is none.
        after = tf.concat([self.position[1:], -tf.ones((1, batch), tf.int32)], 0)
        following = tf.gather_nd(after, where)
        self.following = tf.where(following >= 0, following, self.packed)

    def gather_steps(self, x):
        """The packed steps' rows of `x` `(batch * time, features)`, `(packed, features)`.

        Its gradient gathers back (each valid step is read by exactly one packed step),
        where `tf.gather`'s would scatter-add: 0.05 ms instead of 0.6 ms per batch here.
        Steps past a row's end read some row too, but get no gradient (see above).
        """

        @tf.custom_gradient
        def gather(x):
            def grad(d_packed):
                return tf.gather(tf.concat([d_packed, tf.zeros_like(d_packed[:1])], 0), self.reader)

            return tf.gather(x, self.source), grad

        return gather(x)

    def read(self, packed, before, index):
        """Row b's value after `index[b, j]` steps, `(batch, k, units)`; `before[b]` for 0.

        `packed` is in this layout; `before` `(batch, units)` in the original row order;
        `index` `(batch, k)`, at most the row's length.
        """
        index = tf.cast(index, tf.int32)
        sorted_row = tf.broadcast_to(self.rank[:, None], tf.shape(index))
        at = tf.gather_nd(self.position, tf.stack([tf.maximum(index - 1, 0), sorted_row], -1))
        rows = tf.where(index > 0, self.batch + at, tf.broadcast_to(tf.range(self.batch)[:, None], tf.shape(index)))
        return tf.gather(tf.concat([before, packed], 0), rows)

    def blocks_loop(self, body, inputs, states, outputs, reverse=False):
        """Run `body(block_inputs, states, n) -> (block_outputs, states)` over the blocks.

        `inputs` is a list of packed tensors `(packed, width)`; block b hands `body`
        its rows of each, `(BLOCK * n, width)` with `n = active[b]`, time-major (step
        j of the block is rows `j * n` to `(j + 1) * n`). `body` returns `outputs`
        tensors of the same form (of the states' dtype), one write each per block, which come back packed.
        Block by block from the last one when `reverse`.
        """
        starts = tf.cumsum(self.sizes, exclusive=True)
        ys = tuple(tf.TensorArray(states[0].dtype, size=self.blocks, infer_shape=False,
                                  element_shape=tf.TensorShape([None, None])) for _ in range(outputs))

        def step(k, states, ys):
            b = self.blocks - 1 - k if reverse else k
            x_b = [_rows(x, starts[b], self.sizes[b]) for x in inputs]
            y_b, states = body(x_b, states, self.active[b])
            return k + 1, states, tuple(ta.write(b, y) for ta, y in zip(ys, y_b))

        invariants = [tf.TensorShape([None, s.shape[-1]]) for s in states]
        _, states, ys = tf.while_loop(
            lambda k, *_: k < self.blocks, step, (tf.constant(0), states, ys),
            shape_invariants=(tf.TensorShape([]), invariants, tuple(tf.TensorShape(None) for _ in ys)),
            maximum_iterations=self.blocks)
        return tuple(ta.concat() for ta in ys), states


def _rows(x, start, size):
    """Rows `start` to `start + size` of `x`, with its static width (matmuls want it)."""
    rows = tf.slice(x, [start, 0], [size, -1])
    rows.set_shape([None, x.shape[-1]])
    return rows


def _steps(x, n, block=BLOCK):
    """A block's rows `(block * n, width)` as its `block` steps, `(block, n, width)`."""
    return tf.reshape(x, (block, n, _width(x)))


def _width(x):
    """The last dimension of `x`, static where it is known (matmuls want it)."""
    return x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]


def _recurrence(cell, layout, with_c):
    units = cell.units

    @tf.custom_gradient
    def recurrence(x, W_x, b, h0, c0, W_h):
        forward_block = _forward_block(cell, {"W_x": W_x, "b": b, "W_h": W_h}, ("h", "c", "i", "f", "c_tilde", "o"))
        (H, C, I, F, C_tilde, O), _ = layout.blocks_loop(forward_block, [x], [h0, c0], outputs=6)

        def grad(dH, dC=None):
            # Dense once here, not in every block (it arrives as IndexedSlices from `read`).
            dH = tf.zeros_like(H) if dH is None else tf.convert_to_tensor(dH)
            dC = None if dC is None else tf.convert_to_tensor(dC)
            H_prev = tf.gather(tf.concat([h0, H], 0), layout.previous)
            C_prev = tf.gather(tf.concat([c0, C], 0), layout.previous)
            F_next = tf.gather(tf.concat([F, tf.zeros_like(F[:1])], 0), layout.following)
            o_dtanh, factors = fused.step_factors(I, F, C_tilde, O, C, C_prev)
            into_loop = [x, H_prev, dH, o_dtanh, F_next, factors] + ([] if dC is None else [dC])
            W_h_T, W_x_T = tf.transpose(W_h), tf.transpose(W_x)

            def backward_block(inputs, states, n):
                x_b, H_prev_b, *per_step = inputs
                dH_b, o_dtanh_b, f_next_b, factors_b, *dC_b = (_steps(v, n) for v in per_step)
                dh_rec, dc_next = (tf.pad(s, [[0, n - tf.shape(s)[0]], [0, 0]]) for s in states[:2])
                dW_x, db, dW_h = states[2:]
                dz = [None] * BLOCK
                for j in reversed(range(BLOCK)):
                    dz[j], dh_rec, dc_next = fused.backward_step(
                        dH_b[j], o_dtanh_b[j], f_next_b[j], factors_b[j], dh_rec, dc_next, W_h_T,
                        dC_b[0][j] if dC_b else None)
                # The block's share of the weight and input gradients: off the path of the
                # recurrence, so they run while the next block (backwards) recurs.
                dz_b = tf.concat(dz, 0)  # (BLOCK * n, 4 * units), packed
                dW_x = dW_x + tf.matmul(x_b, dz_b, transpose_a=True)
                dW_h = dW_h + tf.matmul(H_prev_b, dz_b, transpose_a=True)
                db = db + tf.matmul(tf.ones((1, tf.shape(dz_b)[0]), dz_b.dtype), dz_b)  # Σ rows; faster than reduce_sum
                return (tf.matmul(dz_b, W_x_T),), [dh_rec, dc_next, dW_x, db, dW_h]

            empty = tf.zeros((0, units), H.dtype)
            sums = [tf.zeros_like(W_x), tf.zeros_like(b)[None], tf.zeros_like(W_h)]
            (dx,), (dh0, dc_first, dW_x, db, dW_h) = layout.blocks_loop(
                backward_block, into_loop, [empty, empty, *sums], outputs=1, reverse=True)
            # Rows without a valid step (none, in the usual batch) get none here.
            missing = [[0, layout.batch - tf.shape(dh0)[0]], [0, 0]]
            dc0 = dc_first * F[: tf.shape(dc_first)[0]]  # block 0's first step is packed first
            return dx, dW_x, db[0], tf.pad(dh0, missing), tf.pad(dc0, missing), dW_h

        if with_c:
            return (H, C), grad
        return H, grad

    return recurrence
