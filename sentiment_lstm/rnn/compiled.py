"""The LSTM's last states in inference, over chunks of steps compiled by XLA.

On TensorFlow without XLA every small operation of a step (the `(rows, U) @ (U, 4U)`
product, the gates, the state update) is dispatched by itself: for one review that
costs tens of microseconds a step, far above the step's arithmetic, and TensorFlow's
own elementwise kernels are built without AVX2. Compiled by XLA for the machine it
runs on, a step is one fused loop body. XLA wants fixed shapes, and reviews come in
every length and every batch size, so the recurrence runs in chunks of `CHUNK` steps:

- the rows are sorted by length, longest first, and chunk k runs only the rows still
  going at its first step, rounded up to a size in `ROW_SIZES` (so a few compiled
  shapes serve every batch: padding rows and rows that have ended keep their states);
- the steps every chunk reads are gathered once, chunk after chunk and time-major
  inside a chunk, so a chunk's input is one contiguous block `(CHUNK, rows, width)`;
  a function that projects the input (`projected`) is called once, on those steps;
- inside the compiled chunk, `W_x x + b` for the chunk's steps is one product, then a
  `while` loop runs the LSTM's step, `UNROLL` steps per iteration, for as many steps
  as the chunk's longest row has left (its count is data, not shape), each row
  keeping its state once its own steps are done. The step is `LSTMCell.transition`
  with each σ written through tanh (`_lstm_step`): XLA's tanh is far cheaper than
  its logistic.

So a review of any length costs its own steps, plus at most one chunk's rounding of
rows, and XLA compiles one program per row size that occurs (once per process, under
half a second each; the exported SavedModel keeps the chunk as a function XLA
compiles where it runs).

The layers take it in inference for a standard LSTM on TensorFlow when only the last
states are wanted (`return_sequences=False`), up to a number of rows; larger batches
run over packed sequences (`packed.lstm_inference`), which drop finished rows every
few steps. How many rows depends on the input:

- The input itself: up to `MOST_ROWS` (16). Packed inference computes each block's
  input projection on the other core beside the recurrence, which makes it level with
  the chunks from 8 to 64 rows (`benchmarks/inference_paths.py`); past 16, more XLA
  programs would buy nothing.
- The input projected already (`projected`, the recurrent layers' argument: each step's
  `W_x x_t + b`, which serving reads from a folded table, `sentiment_lstm/inference/folding.py`):
  up to `MOST_PROJECTED_ROWS` (256, serving's largest group). With nothing to overlap,
  the chunks win at every size there: a step of 128 rows takes about 50 µs compiled
  against 77 µs dispatched (docs/experiments.md).
"""
import contextlib

import tensorflow as tf

from sentiment_lstm.rnn import fused, packed

CHUNK = 64  # steps per compiled call
UNROLL = 4  # steps per iteration of its loop, a divisor of CHUNK (one review: 1.3-1.5x faster than 1)
ROW_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # the row counts XLA compiles a chunk for
MOST_ROWS = 16  # larger batches of inputs run over packed sequences
MOST_PROJECTED_ROWS = ROW_SIZES[-1]  # larger batches of projected inputs do


_off = False  # True within `off()`


@contextlib.contextmanager
def off():
    """Within it, inference runs the recurrence over packed sequences, never in compiled
    chunks (`most_rows` is 0): for a one-off call (the command line's `predict`), whose
    compiles, about half a second to a second each, would cost more than they save."""
    global _off
    before, _off = _off, True
    try:
        yield
    finally:
        _off = before


def most_rows(projected=False):
    """The largest batch that runs in compiled chunks (the module's text; 0 within `off()`)."""
    if _off:
        return 0
    return MOST_PROJECTED_ROWS if projected else MOST_ROWS


def row_sizes(rows=None, projected=True):
    """The row counts in `ROW_SIZES` that batches of at most `rows` rows run at (None: of
    any size), for projected inputs or not."""
    most = most_rows(projected) if rows is None else min(rows, most_rows(projected))
    return tuple(size for size in ROW_SIZES if size < most) + (next(size for size in ROW_SIZES if size >= most),)


def lstm_last_states(cell, x, lengths, h0, c0, steps=None, with_c=True, projected=False):
    """Each row's LSTM states after its valid steps, in inference: `[h]`, or `[h, c]`
    `with_c`, `(batch, units)` each. Batches of at most `most_rows(projected)` rows run
    in compiled chunks (`compiled_last_states`); larger ones over packed sequences
    (`packed.lstm_inference`), whose blocks drop finished rows more finely. A batch
    size known only when the graph runs is decided then.

    Args:
        cell: a standard `LSTMCell` for which `packed.applies` holds.
        x: `(batch, time, features)`.
        lengths: int `(batch,)`, each row's number of valid steps.
        steps: int `(batch, time)`: row b's k-th valid step is `x[b, steps[b, k]]`
            (`layers._valid_first`); None: its first `lengths[b]` steps.
        h0, c0: the initial states `(batch, units)`.
        projected: `x` is already each step's `W_x x_t + b`, `(batch, time, 4 * units)`;
            or a function that gives it from rows of `x` (`Recurrent.call`): packed
            sequences call it on each block's rows, the chunks once on all the steps they read.
    """
    count, most = x.shape[0], most_rows(projected)
    arguments = (cell, x, lengths, h0, c0, steps, with_c, projected)
    if count is not None or most == 0:
        return (compiled_last_states if count is not None and count <= most else _packed_last_states)(*arguments)
    return tf.cond(tf.shape(x)[0] <= most,
                   lambda: compiled_last_states(*arguments), lambda: _packed_last_states(*arguments))


def _packed_last_states(cell, x, lengths, h0, c0, steps, with_c, projected=False, weights=None):
    sequences, read = packed.lstm_inference(cell, x, lengths, h0, c0, steps=steps, with_c=with_c, weights=weights,
                                            projected=projected)
    count = tf.cast(lengths, tf.int32)[:, None]
    return [read(sequences[name], start, count)[:, 0] for name, start in zip(("h", "c"), (h0, c0))
            if name in sequences]


def compiled_last_states(cell, x, lengths, h0, c0, steps=None, with_c=True, projected=False):
    """`lstm_last_states` in compiled chunks, whatever the batch size (the module's text).

    Differentiable, for what asks for gradients in inference (explanations, the gradient
    flow): XLA cannot hand a loop's saved steps back to TensorFlow, so the gradient
    reruns the rows over packed sequences and takes theirs (the same function). With a
    projecting function (serving's) it is forward only: no gradient reaches `x` or
    what the function reads.
    """
    lengths = tf.cast(lengths, tf.int32)
    W_h = tf.convert_to_tensor(cell.recurrent_kernel)
    if callable(projected):
        states = _chunks(cell, x, lengths, h0, c0, steps, [W_h], projected)
        return [tf.stop_gradient(s) for s in states[: 2 if with_c else 1]]
    weights = [tf.convert_to_tensor(cell.kernel), tf.convert_to_tensor(cell.input_bias()), W_h]

    @tf.custom_gradient
    def last_states(x, h0, c0, W_x, b, W_h):
        states = _chunks(cell, x, lengths, h0, c0, steps, [W_h] if projected else [W_x, b, W_h], projected)

        def grad(dh, dc, variables=None):  # variables: none are read here but the weights, passed in
            inputs = [x, h0, c0, W_x, b, W_h]
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                again = _packed_last_states(cell, x, lengths, h0, c0, steps, True, projected,
                                            {"W_x": W_x, "b": b, "W_h": W_h})
            upstream = [tf.zeros_like(s) if d is None else d for s, d in zip(states, (dh, dc))]
            grads = tape.gradient(again, inputs, output_gradients=upstream,
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return grads if variables is None else (grads, [None] * len(variables))

        return states, grad

    return last_states(x, h0, c0, *weights)[: 2 if with_c else 1]


def _chunks(cell, x, lengths, h0, c0, steps, weights, projected=False):
    """`[h, c]` of `compiled_last_states`, forward only, with `weights` `[W_x, b, W_h]`
    (`[W_h]` where `x` is `projected`, or a function projecting its rows).

    The steps every chunk reads are gathered first, chunk after chunk, time-major inside
    a chunk, so each chunk reads one contiguous block `(CHUNK, rows, width)`; a
    projecting function is called once, on those steps' rows."""
    batch, time = tf.shape(x)[0], tf.shape(x)[1]
    order = tf.argsort(lengths, direction="DESCENDING", stable=True)
    sorted_lengths = tf.gather(lengths, order)
    padded = _row_size(batch)
    chunks = (tf.reduce_max(tf.concat([lengths, [0]], 0)) + CHUNK - 1) // CHUNK
    # Chunk k runs the rows still going at its first step, rounded up to a row size.
    running = tf.reduce_sum(tf.cast(sorted_lengths[None, :] > CHUNK * tf.range(chunks)[:, None], tf.int32), 1)
    rows = _row_size(running)  # (chunks,)
    offsets = tf.cumsum(rows * CHUNK, exclusive=True)
    # Row r of the padded, sorted batch reads row `source[r]`; rows past the batch run no step.
    source = tf.gather(order, tf.minimum(tf.range(padded), batch - 1))
    runs = tf.range(padded)[None, None, :] < rows[:, None, None] + tf.zeros([1, CHUNK, 1], tf.int32)
    read = tf.cast(tf.where(runs), tf.int32)  # (steps read, 3): [chunk, step in it, row], in the chunks' order
    row = tf.gather(source, read[:, 2])
    t = tf.minimum(read[:, 0] * CHUNK + read[:, 1], time - 1)  # past the end: any step
    if steps is not None:
        t = tf.gather_nd(tf.cast(steps, tf.int32), tf.stack([row, t], 1))
    x_read = tf.gather(tf.reshape(x, (-1, x.shape[-1])), row * time + t)  # (steps read, features)
    x_read = projected(x_read) if callable(projected) else x_read
    remaining = tf.concat([sorted_lengths, tf.zeros([padded - batch], tf.int32)], 0)
    pad = lambda s: tf.concat([tf.gather(s, order), tf.zeros([padded - batch, cell.units], s.dtype)], 0)  # noqa: E731
    h, c = pad(h0), pad(c0)
    run_chunk = _compiled_chunk(cell, bool(projected))

    def body(k, h, c):
        size = rows[k]
        block = tf.reshape(tf.slice(x_read, [offsets[k], 0], [size * CHUNK, -1]), (CHUNK, size, x_read.shape[-1]))
        n = tf.clip_by_value(remaining[:size] - k * CHUNK, 0, CHUNK)  # each row's steps in this chunk
        # No tape may watch the compiled call (its gradient is `compiled_last_states`' own).
        h_rows, c_rows = run_chunk(*[tf.stop_gradient(v) for v in (block, n, h[:size], c[:size], *weights)])
        h_next, c_next = tf.concat([h_rows, h[size:]], 0), tf.concat([c_rows, c[size:]], 0)
        h_next.set_shape(h.shape)
        c_next.set_shape(c.shape)
        return k + 1, h_next, c_next

    _, h, c = tf.while_loop(lambda k, *_: k < chunks, body, (tf.constant(0), h, c))
    rank = tf.math.invert_permutation(order)
    return [tf.gather(h, rank), tf.gather(c, rank)]


def _row_size(rows):
    """The smallest of `ROW_SIZES` that holds `rows` (elementwise), `rows` itself past the
    largest, 0 for 0 (an empty batch: a replica's share may be one)."""
    sizes = tf.constant(ROW_SIZES, tf.int32)
    fits = tf.reduce_sum(tf.cast(sizes < tf.expand_dims(rows, -1), tf.int32), -1)
    size = tf.maximum(tf.gather(sizes, tf.minimum(fits, len(ROW_SIZES) - 1)), rows)
    return tf.where(rows > 0, size, 0)


def _compiled_chunk(cell, projected=False):
    """`chunk(x, n, h, c, W_x, b, W_h) -> (h, c)`, compiled by XLA: row r runs its first
    `n[r]` steps of `x` `(CHUNK, rows, features)` from `(h[r], c[r])`. `projected`:
    `chunk(x, n, h, c, W_h)`, `x` being `W_x x + b` already.

    The steps are the standard LSTM's (`_lstm_step`); one function for each kind of
    input (the weights come in as arguments), so every LSTM in a process shares XLA's
    programs, one per input shape.
    """
    if not fused.fusable(cell, None):
        raise TypeError("compiled chunks run a standard LSTMCell (sigmoid gates, tanh)")
    if projected not in _CHUNKS:
        _CHUNKS[projected] = _chunk_function(projected)
    return _CHUNKS[projected]


_CHUNKS = {}  # `_compiled_chunk`'s functions


def _lstm_step(z, c_prev):
    """`LSTMCell.transition` from `z = W_x x_t + W_h h_{t-1} + b` (gates i, f, c~, o),
    each σ written as σ(a) = (1 + tanh(a / 2)) / 2: one tanh over all of `z`, its σ
    columns halved, which XLA's CPU code runs about twice as fast as its logistic."""
    units = z.shape[-1] // 4
    half = tf.concat([tf.fill([2 * units], 0.5), tf.ones([units]), tf.fill([units], 0.5)], 0)
    t_i, t_f, c_tilde, t_o = tf.split(tf.tanh(z * half), 4, axis=-1)
    i, f, o = 0.5 * t_i + 0.5, 0.5 * t_f + 0.5, 0.5 * t_o + 0.5
    c = f * c_prev + i * c_tilde
    h = o * tf.tanh(c)
    return h, c


def _chunk_function(projected):

    def projection(x, W_x, b):  # (CHUNK, rows, features) -> (CHUNK, rows, 4U)
        return tf.reshape(tf.matmul(tf.reshape(x, (-1, x.shape[-1])), W_x) + b, (CHUNK, -1, W_x.shape[-1]))

    @tf.function(jit_compile=True)
    def chunk(x, n, h, c, *weights):
        W_h = weights[-1]
        x_proj = x if projected else projection(x, *weights[:2])

        def steps(t, h, c):  # UNROLL steps from step t
            for j in range(UNROLL):
                h_next, c_next = _lstm_step(x_proj[t + j] + tf.matmul(h, W_h), c)
                running = (t + j < n)[:, None]
                h, c = tf.where(running, h_next, h), tf.where(running, c_next, c)
            return t + UNROLL, h, c

        _, h, c = tf.while_loop(lambda t, *_: t < tf.reduce_max(n), steps, (tf.constant(0), h, c),
                                maximum_iterations=CHUNK // UNROLL)
        return h, c

    return chunk
