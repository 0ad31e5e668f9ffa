"""Sequence layers that run the cells of `cells.py` over time, organised for speed.

They compute exactly what `keras.layers.SimpleRNN`, `LSTM` and `GRU` compute (same
weights, same masking semantics) but:

1. The input half of every step, `W_x x_t + b`, is one matrix product over all time
   steps before the recurrence, `(time * batch, D) @ (D, kU)`, laid out time-major
   for the loop (`loop.py`), which then reads one `(batch, kU)` slice per step.
2. Masks cost no per-step select. Keras skips a masked step by keeping the previous
   state; that equals running the recurrence over each row's valid steps moved to the
   front (in order), then reading each row's state at its number of valid steps and
   each output at the number of valid steps seen so far. A right-padded mask (what
   `Embedding(mask_zero=True)` gives) moves nothing; any other mask is handled too.
3. In training, a standard LSTM's backward pass is written by hand (`fused.py`), so
   `jit_compile=True` works well on TensorFlow, unlike the built-in LSTM there.
   Outside XLA on TensorFlow it runs over packed sequences (`packed.py`): only the
   valid steps, with the input projection and the weight gradients beside the
   recurrence on the other core.
4. In inference, a standard LSTM on TensorFlow (outside XLA) runs over packed
   sequences as well, forward only (`packed.lstm_inference`): rows sorted by length,
   finished rows dropped block by block, each block's `BLOCK` steps written out in
   one loop iteration and its input projection computed beside the recurrence (never
   a `(time, batch, 4 * units)` tensor, however long the review). A
   batch of mixed lengths then costs its valid steps, not its longest row's padding.
   Where only the last states are wanted, a batch of a few rows (one review, a
   server's batch) runs instead in chunks of steps compiled by XLA
   (`compiled.lstm_last_states`), which saves the per-operation dispatch that
   dominates a small batch's steps.
5. In inference the input may come `projected` already (`W_x x_t + b`, computed some
   cheaper way), or with a function that projects it: every path then starts at the
   recurrence, and packed sequences project each block's rows inside their loop, so
   `(batch, time, 4 * units)` is never formed for a large batch.

`inspect(inputs)` returns every named quantity of the equations at every time step
(`i, f, c_tilde, c, o, h` for the LSTM), aligned with the input steps.
"""

import keras
from keras import ops

from sentiment_lstm.rnn import fused
from sentiment_lstm.rnn.cells import PACKAGE, GRUCell, LSTMCell, SimpleRNNCell
from sentiment_lstm.rnn.loop import time_loop


class Recurrent(keras.layers.Layer):
    """Runs `cell_class` over a sequence; the base of `SimpleRNN`, `LSTM` and `GRU`.

    Args:
        units: Positive integer, size of the state.
        return_sequences: Return the output of every step `(batch, time, units)`
            rather than the last one `(batch, units)`.
        return_state: Also return the final states (`h`, and `c` for the LSTM).
        go_backwards: Read the sequence from its end; outputs come in that order.
        zero_output_for_mask: Give zeros at masked steps instead of repeating the last
            output (Bidirectional sets it); without `return_sequences`, zeros when the
            last step is masked. As Keras' layers.
        **kwargs: The cell's arguments (activation, dropout, initializers, ...) and
            the base layer's (`name`, `dtype`, `trainable`).

    Call arguments:
        sequences: `(batch, time, features)`.
        initial_state: Optional list of `(batch, units)` tensors.
        mask: Optional boolean `(batch, time)`; False steps are skipped.
        training: Whether dropout is applied.
        projected: In inference, `sequences` are already the input half of each step,
            `W_x x_t + b` `(batch, time, k * units)` (`cell.project`), computed some
            cheaper way (`folding.py` reads the word embedding's part from a table);
            or a function giving `W_x x_t + b` `(..., k * units)` from rows of
            `sequences` `(..., features)`, which may then be anything per step (for
            `folding.py`, token ids), called on only the rows a path reads.
    """

    cell_class = None
    layer_kwargs = ("name", "dtype", "trainable", "autocast")

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        base = {key: kwargs.pop(key) for key in self.layer_kwargs if key in kwargs}
        super().__init__(**base)
        self.cell = self.cell_class(units, dtype=base.get("dtype"), **kwargs)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.zero_output_for_mask = zero_output_for_mask
        self.stateful = False
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3)

    @property
    def units(self):
        return self.cell.units

    def build(self, sequences_shape, initial_state_shape=None):
        self.cell.build(sequences_shape)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, time = sequences_shape[0], sequences_shape[1]
        output = (batch, time, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return (output, *[(batch, self.units)] * len(self.cell.state_names))
        return output

    def compute_mask(self, sequences, mask=None):
        # As Keras' RNN layers: the input mask passes on with the sequence (unflipped,
        # even with go_backwards), states carry no mask.
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.cell.state_names)
        return output_mask

    def call(self, sequences, initial_state=None, mask=None, training=False, projected=False):
        if projected and training:
            raise ValueError("`projected` inputs are for inference: training needs the input to project.")
        output, states = self._run(sequences, initial_state, mask, training, projected=projected)[:2]
        if self.return_state:
            return (output, *states)
        return output

    def inspect(self, sequences, mask=None, initial_state=None):
        """Every named quantity of the cell's equations at every step, in inference mode.

        Returns:
            A dict from name (`"i", "f", "c_tilde", "c", "o", "h"` for the LSTM,
            `"z", "r", "h_tilde", "h"` for the GRU, `"h"` for the simple RNN) to a
            `(batch, time, units)` tensor whose step `t` belongs to input step `t`
            (in reading order when `go_backwards`). At a masked step each quantity
            keeps its value from the last valid step (zeros before the first).
        """
        sequences = ops.convert_to_tensor(sequences)
        if not self.built:
            self.build(sequences.shape)
        return self._run(sequences, initial_state, mask, False, everything=True)[2]

    def _run(self, sequences, initial_state, mask, training, everything=False, projected=False):
        cell = self.cell
        states = self._initial_states(sequences, initial_state)
        input_mask, recurrent_mask = self._dropout_masks(sequences, states, training)
        x = sequences  # (batch, time, features)
        if self.go_backwards:
            x = ops.flip(x, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        # Packed sequences (`packed.py`) where they apply: a standard LSTM on TensorFlow,
        # training or inference. They read states through the masked path below, all
        # steps valid when there is no mask.
        pack = not everything and _packs(cell, recurrent_mask)
        masked = mask is not None or everything or pack
        if masked:
            valid = ops.ones(ops.shape(x)[:2], "bool") if mask is None else ops.cast(mask, "bool")
        order = None if mask is None else _valid_first(valid)  # each row's valid steps first
        names = cell.quantity_names if everything else cell.state_names
        if pack and not training and not self.return_sequences:
            from sentiment_lstm.rnn import compiled  # TensorFlow's: imported only where it runs

            lengths = ops.sum(ops.cast(valid, "int32"), axis=1)
            final = compiled.lstm_last_states(cell, x, lengths, *states, steps=order, with_c=self.return_state,
                                              projected=projected)
            # The output, as below: zeros for a row without a valid step (its states stay
            # the initial ones) and, with zero_output_for_mask, where the last step is masked.
            last_valid = valid[:, -1:] if self.zero_output_for_mask else lengths[:, None] > 0
            return ops.where(last_valid, final[0], ops.zeros_like(final[0])), final, {}
        if pack:
            from sentiment_lstm.rnn import packed  # TensorFlow's: imported only where it runs

            lengths = ops.sum(ops.cast(valid, "int32"), axis=1)
            if training:
                seqs, read = packed.lstm_recurrence(cell, x, lengths, *states, input_mask, steps=order,
                                                    with_c=self.return_state)
            else:
                seqs, read = packed.lstm_inference(cell, x, lengths, *states, steps=order, with_c=self.return_state,
                                                   projected=projected)
        else:
            if order is not None:
                x = _steps(x, order)  # each row's valid steps first, in order
            read = _pick
            x = ops.transpose(x, (1, 0, 2))  # (time, batch, features)
            # Hoist W_x x_t + b out of the loop when training (the backward pass wants it
            # whole) or when it is no wider than x; else the loop reads the narrower x.
            features = x.shape[-1]
            hoist = projected or training or features is None or cell.gates * cell.units <= features
            x_proj = projected(x) if callable(projected) else x
            x_proj = x_proj if projected or not hoist else cell.project(x, input_mask)  # (time, batch, k * units) hoisted
            emit = names if masked else ("h",) if self.return_sequences else ()
            final, seqs = self._scan(x_proj, states, recurrent_mask, emit, training, hoist)

        if not masked:
            output = ops.transpose(seqs["h"], (1, 0, 2)) if self.return_sequences else final[0]
            return output, final, {}

        seen = ops.cumsum(ops.cast(valid, "int32"), axis=1)  # (batch, time) valid steps so far
        count = seen[:, -1:]  # (batch, 1)
        start = dict(zip(cell.state_names, states))
        final = [read(seqs[n], start[n], count)[:, 0] for n in cell.state_names if n in seqs]
        output_index = seen if not self.zero_output_for_mask else ops.where(valid, seen, 0)
        zeros = ops.zeros_like(states[0])
        output = read(seqs["h"], zeros, output_index if self.return_sequences else count)
        if not self.return_sequences:
            output = output[:, 0]
            if self.zero_output_for_mask:  # as Keras: the last step's output, zeros if it is masked
                output = ops.where(valid[:, -1:], output, ops.zeros_like(output))
        aligned = {}
        if everything:
            aligned = {n: read(s, ops.zeros_like(s[0]), seen) for n, s in seqs.items()}
        return output, final, aligned

    def _scan(self, x_proj, states, recurrent_mask, names, training=False, hoisted=True):
        """Runs `cell.transition` over time-major `x_proj` (`loop.time_loop`); for a
        standard LSTM in training, with the hand-written backward pass of `fused.py`
        (which keeps every step's `h` and `c`: inference keeps only what it returns).
        Not `hoisted`: `x_proj` is the input itself and each step projects its slice.

        Returns:
            The final states and a dict from each of `names` to that quantity at every
            step, `(time, batch, units)`.
        """
        cell = self.cell
        if training and fused.fusable(cell, recurrent_mask) and set(names) <= set(cell.state_names):
            H, C = fused.lstm_recurrence(cell, x_proj, *states)
            return [H[-1], C[-1]], {"h": H, "c": C}
        weights = cell.recurrent_weights()

        def step(x_t, carry):
            x_t = x_t if hoisted else cell.project(x_t)
            quantities = cell.transition(x_t, carry, weights, recurrent_mask)
            return tuple(quantities[n] for n in names), cell.next_states(quantities)

        ys, final = time_loop(step, x_proj, states, outputs=len(names))
        return final, dict(zip(names, ys))

    def _initial_states(self, sequences, initial_state):
        if initial_state is None:
            return self.cell.get_initial_state(ops.shape(sequences)[0])
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        return [ops.cast(s, self.cell.compute_dtype) for s in states]

    def _dropout_masks(self, sequences, states, training):
        cell = self.cell
        if not training or (cell.dropout == 0 and cell.recurrent_dropout == 0):
            return None, None
        masks = cell.get_dropout_mask(sequences[:, 0, :]), cell.get_recurrent_dropout_mask(states[0])
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
        return masks

    def get_config(self):
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config = {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "zero_output_for_mask": self.zero_output_for_mask,
        }
        return {**super().get_config(), **cell_config, **config}


def _packs(cell, recurrent_mask):
    """Whether training runs over packed sequences (`packed.applies`): a standard LSTM
    on TensorFlow. The backend is checked first, so other backends never import it."""
    if keras.backend.backend() != "tensorflow" or not fused.fusable(cell, recurrent_mask):
        return False
    from sentiment_lstm.rnn import packed

    return packed.applies(cell, recurrent_mask)


def _valid_first(valid):
    """Per row, the time indices of the valid steps in order, then the masked ones."""
    time = ops.arange(ops.shape(valid)[1], dtype="int32")[None, :]
    length = ops.shape(valid)[1]
    return ops.argsort(ops.where(valid, time, time + length), axis=1)  # keys are unique


def _steps(sequence, index):
    """`sequence[b, index[b, k]]` for each row b: `(batch, time, n)` -> `(batch, k, n)`.

    A gather of rows of the flattened sequence: cheaper than `take_along_axis`,
    which broadcasts the index to the full shape first.
    """
    batch, time = ops.shape(sequence)[0], ops.shape(sequence)[1]
    rows = ops.cast(index, "int32") + ops.arange(batch, dtype="int32")[:, None] * time
    return ops.take(ops.reshape(sequence, (-1, sequence.shape[-1])), rows, axis=0)


def _pick(sequence, before, index):
    """Time-major `[before, sequence...]` read at `index` `(batch, k)`: index 0 is
    `before`, index t is step t - 1. Returns `(batch, k, units)`."""
    padded = ops.concatenate([before[None], sequence], axis=0)  # (1 + time, batch, units)
    batch = ops.shape(sequence)[1]
    rows = ops.cast(index, "int32") * batch + ops.arange(batch, dtype="int32")[:, None]
    return ops.take(ops.reshape(padded, (-1, padded.shape[-1])), rows, axis=0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SimpleRNN(Recurrent):
    """Simple RNN over a sequence, `h_t = f(W_x x_t + W_h h_{t-1} + b)`.

    The weights are a `SimpleRNNCell`'s and copy to and from `keras.layers.SimpleRNN`.
    Arguments: see `Recurrent` and `SimpleRNNCell`.

    Example:

    >>> SimpleRNN(4, return_sequences=True)(np.ones((2, 10, 8))).shape
    (2, 10, 4)
    """

    cell_class = SimpleRNNCell


@keras.saving.register_keras_serializable(package=PACKAGE)
class LSTM(Recurrent):
    """LSTM over a sequence; the six equations are in `LSTMCell`.

    The weights are an `LSTMCell`'s and copy to and from `keras.layers.LSTM`.
    Arguments: see `Recurrent` and `LSTMCell`.

    Example:

    >>> h, h_last, c_last = LSTM(4, return_state=True)(np.ones((2, 10, 8)))
    >>> h.shape
    (2, 4)
    """

    cell_class = LSTMCell


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRU(Recurrent):
    """GRU (`reset_after=True`) over a sequence; the equations are in `GRUCell`.

    The weights are a `GRUCell`'s and copy to and from `keras.layers.GRU`.
    Arguments: see `Recurrent` and `GRUCell`.

    Example:

    >>> GRU(4)(np.ones((2, 10, 8))).shape
    (2, 4)
    """

    cell_class = GRUCell
