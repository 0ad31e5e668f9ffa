"""Recurrent cells written from their equations: one time step each.

Every cell splits a step in two halves:

- `project(x_t)` is the input half, `W_x x_t + b`. It does not depend on the past,
  so `layers.py` computes it for all time steps in one matrix product.
- `transition(x_proj, states)` is the recurrent half. It returns every quantity of
  the equations by name (`i, f, c_tilde, c, o, h` for the LSTM), which is what gate
  inspection reads.

`call(inputs, states)` chains the two, so each cell also runs inside
`keras.layers.RNN`. Weights have the names, shapes and gate order of Keras' own
cells (`kernel (D, kU)`, `recurrent_kernel (U, kU)`, `bias`), so
`set_weights(keras_layer.get_weights())` works in both directions.

Only `keras.ops` is used, so the cells run on the TensorFlow, JAX and PyTorch backends.
"""

import keras
from keras import activations, constraints, initializers, ops, regularizers

# Keras' RNN layer fixes a cell's dropout masks across time steps (and builds them
# outside the loop, which JAX needs) only for subclasses of this mixin.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

PACKAGE = "sentiment_lstm"


def _activation(name, value):
    try:
        return activations.get(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"Expected `{name}` to be the name of a Keras activation or a callable. "
            f"Received: {name}={value!r}"
        ) from None


def _rate(name, value):
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"Expected `{name}` to be a fraction in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """What the three cells share: arguments, validation, weights and config.

    A subclass sets `gates` (how many `U`-wide blocks its kernels hold),
    `state_names` and `quantity_names` (the keys `transition` returns, in the
    order of the equations), and implements `transition`.
    """

    gates = 1
    state_names = ("h",)
    quantity_names = ("h",)

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Expected `units` to be a positive integer. Received: units={units!r}"
            )
        super().__init__(**kwargs)
        self.units = units
        self.activation = _activation("activation", activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate("dropout", dropout)
        self.recurrent_dropout = _rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = [units] * len(self.state_names)
        self.output_size = units

    def build(self, input_shape):
        gates_units = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], gates_units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, gates_units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.bias_init(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def bias_shape(self):
        return (self.gates * self.units,)

    def bias_init(self):
        return self.bias_initializer

    def input_bias(self):
        return self.bias

    def project(self, x, input_mask=None, weights=None):
        """The input half of a step, `W_x x + b`, for `x` of one step `(batch, D)` or of
        all steps, time-major `(time, batch, D)`.

        `input_mask`: the input dropout mask, `(batch, D)`, or None.
        `weights`: `{"W_x": ..., "b": ...}` tensors to use instead of the layer's
        kernel and input bias (a backward pass written by hand differentiates them).
        """
        W_x = self.kernel if weights is None else weights["W_x"]
        b = (self.input_bias() if self.use_bias else None) if weights is None else weights["b"]
        if input_mask is not None:
            x = x * input_mask  # broadcasts over time: one mask for every step
        leading = ops.shape(x)[:-1]
        x_proj = ops.matmul(ops.reshape(x, (-1, x.shape[-1])), W_x)  # one 2-D product
        x_proj = ops.reshape(x_proj, (*leading, W_x.shape[-1]))
        if b is not None:
            x_proj = x_proj + b
        return x_proj

    def recurrent_weights(self):
        """The weights of the recurrent half as tensors, read once per sequence."""
        return {"W_h": ops.convert_to_tensor(self.recurrent_kernel)}

    def transition(self, x_proj, states, weights, recurrent_mask=None):
        """The recurrent half of a step.

        Args:
            x_proj: `W_x x_t + b`, `(batch, gates * units)`, from `project`.
            states: The previous states, e.g. `[h_{t-1}, c_{t-1}]`.
            weights: `recurrent_weights()`.
            recurrent_mask: The recurrent dropout mask `(batch, units)`, or None.

        Returns:
            A dict from each name in `quantity_names` to its `(batch, units)` value.
        """
        raise NotImplementedError

    def next_states(self, quantities):
        """The new state list, picked from `transition`'s quantities."""
        return [quantities[name] for name in self.state_names]

    def call(self, inputs, states, training=False):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        dropping = training and (self.dropout > 0 or self.recurrent_dropout > 0)
        input_mask = self.get_dropout_mask(inputs) if dropping else None
        recurrent_mask = self.get_recurrent_dropout_mask(states[0]) if dropping else None
        x_proj = self.project(inputs, input_mask)
        quantities = self.transition(x_proj, states, self.recurrent_weights(), recurrent_mask)
        return quantities["h"], self.next_states(quantities)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in self.state_size]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


def _drop(h_prev, recurrent_mask):
    return h_prev if recurrent_mask is None else h_prev * recurrent_mask


@keras.saving.register_keras_serializable(package=PACKAGE)
class SimpleRNNCell(RecurrentCell):
    """Simple RNN cell: `h_t = f(W_x x_t + W_h h_{t-1} + b)`.

    Args:
        units: Positive integer, size of `h`.
        activation: `f`, `"tanh"` (default) or `"sigmoid"` or any Keras activation.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        *_regularizer, *_constraint: as in `keras.layers.SimpleRNNCell`.
        dropout: Fraction of the inputs dropped, one mask for all time steps.
        recurrent_dropout: Fraction of `h_{t-1}` dropped, one mask for all time steps.
        seed: Seed for the dropout masks.

    Call arguments:
        inputs: `(batch, features)`, the input `x_t`.
        states: `[h_{t-1}]`, each `(batch, units)`.
        training: Whether dropout is applied.

    Example:

    >>> rnn = keras.layers.RNN(SimpleRNNCell(4))
    >>> rnn(np.ones((2, 10, 8))).shape
    (2, 4)
    """

    def transition(self, x_proj, states, weights, recurrent_mask=None):
        (h_prev,) = states
        h = self.activation(x_proj + ops.matmul(_drop(h_prev, recurrent_mask), weights["W_h"]))
        return {"h": h}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LSTMCell(RecurrentCell):
    """LSTM cell, the six equations in order:

        i_t  = σ(W_ix x_t + W_ih h_{t-1} + b_i)
        f_t  = σ(W_fx x_t + W_fh h_{t-1} + b_f)
        c~_t = tanh(W_cx x_t + W_ch h_{t-1} + b_c)
        c_t  = f_t ⊙ c_{t-1} + i_t ⊙ c~_t
        o_t  = σ(W_ox x_t + W_oh h_{t-1} + b_o)
        h_t  = o_t ⊙ tanh(c_t)

    Gates are stored in the order i, f, c, o along the last axis of `kernel (D, 4U)`,
    `recurrent_kernel (U, 4U)` and `bias (4U,)`, as in `keras.layers.LSTMCell`.

    Args:
        units: Positive integer, size of `h` and `c`.
        activation: The `tanh` of `c~_t` and `h_t`. Default `"tanh"`.
        recurrent_activation: The `σ` of the gates. Default `"sigmoid"`.
        unit_forget_bias: Start `b_f` at 1 (and the other biases at zero). Default True.
        dropout, recurrent_dropout, seed and the weight arguments: see `SimpleRNNCell`.

    Call arguments:
        inputs: `(batch, features)`, the input `x_t`.
        states: `[h_{t-1}, c_{t-1}]`, each `(batch, units)`.
        training: Whether dropout is applied.

    Example:

    >>> rnn = keras.layers.RNN(LSTMCell(4), return_state=True)
    >>> h, h_last, c_last = rnn(np.ones((2, 10, 8)))
    >>> h.shape, c_last.shape
    ((2, 4), (2, 4))
    """

    gates = 4
    state_names = ("h", "c")
    quantity_names = ("i", "f", "c_tilde", "c", "o", "h")

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = _activation("recurrent_activation", recurrent_activation)
        self.unit_forget_bias = unit_forget_bias

    def bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, init = self.units, self.bias_initializer

        def forget_bias_one(shape, dtype=None):
            return ops.concatenate(
                [init((units,), dtype), ops.ones((units,), dtype), init((2 * units,), dtype)]
            )

        return forget_bias_one

    def transition(self, x_proj, states, weights, recurrent_mask=None):
        h_prev, c_prev = states
        σ, tanh = self.recurrent_activation, self.activation
        z = x_proj + ops.matmul(_drop(h_prev, recurrent_mask), weights["W_h"])
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)  # z_? = W_?x x_t + W_?h h_{t-1} + b_?
        i = σ(z_i)
        f = σ(z_f)
        c_tilde = tanh(z_c)
        c = f * c_prev + i * c_tilde
        o = σ(z_o)
        h = o * tanh(c)
        return {"i": i, "f": f, "c_tilde": c_tilde, "c": c, "o": o, "h": h}

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRUCell(RecurrentCell):
    """GRU cell, Keras' default variant (`reset_after=True`):

        z_t  = σ(W_zx x_t + b_zx + W_zh h_{t-1} + b_zh)
        r_t  = σ(W_rx x_t + b_rx + W_rh h_{t-1} + b_rh)
        h~_t = tanh(W_hx x_t + b_hx + r_t ⊙ (W_hh h_{t-1} + b_hh))
        h_t  = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ h~_t

    Gates are stored in the order z, r, h: `kernel (D, 3U)`, `recurrent_kernel (U, 3U)`
    and `bias (2, 3U)` whose rows are the input and the recurrent biases, as in
    `keras.layers.GRUCell`.

    Args:
        units: Positive integer, size of `h`.
        activation: The `tanh` of `h~_t`. Default `"tanh"`.
        recurrent_activation: The `σ` of the gates. Default `"sigmoid"`.
        reset_after: Must be True (the only variant implemented); accepted so configs
            of `keras.layers.GRUCell` read the same.
        dropout, recurrent_dropout, seed and the weight arguments: see `SimpleRNNCell`.

    Call arguments:
        inputs: `(batch, features)`, the input `x_t`.
        states: `[h_{t-1}]`, `(batch, units)`.
        training: Whether dropout is applied.

    Example:

    >>> rnn = keras.layers.RNN(GRUCell(4))
    >>> rnn(np.ones((2, 10, 8))).shape
    (2, 4)
    """

    gates = 3
    quantity_names = ("z", "r", "h_tilde", "h")

    def __init__(self, units, recurrent_activation="sigmoid", reset_after=True, **kwargs):
        if reset_after is not True:
            raise ValueError(
                "Only the `reset_after=True` GRU is implemented. "
                f"Received: reset_after={reset_after!r}"
            )
        super().__init__(units, **kwargs)
        self.recurrent_activation = _activation("recurrent_activation", recurrent_activation)
        self.reset_after = True

    def bias_shape(self):
        return (2, self.gates * self.units)

    def input_bias(self):
        return self.bias[0]

    def recurrent_weights(self):
        weights = super().recurrent_weights()
        weights["b_h"] = ops.convert_to_tensor(self.bias)[1] if self.use_bias else 0.0
        return weights

    def transition(self, x_proj, states, weights, recurrent_mask=None):
        (h_prev,) = states
        σ, tanh = self.recurrent_activation, self.activation
        x_z, x_r, x_h = ops.split(x_proj, 3, axis=-1)  # W_?x x_t + b_?x
        h_proj = ops.matmul(_drop(h_prev, recurrent_mask), weights["W_h"]) + weights["b_h"]
        h_z, h_r, h_h = ops.split(h_proj, 3, axis=-1)  # W_?h h_{t-1} + b_?h
        z = σ(x_z + h_z)
        r = σ(x_r + h_r)
        h_tilde = tanh(x_h + r * h_h)
        h = z * h_prev + (1.0 - z) * h_tilde
        return {"z": z, "r": r, "h_tilde": h_tilde, "h": h}

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
