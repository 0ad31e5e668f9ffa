"""The recurrent engine: the seed's equations as Keras cells, and their fast execution.

- `cells.py`: one time step each, written from the equations (`SimpleRNNCell`,
  `LSTMCell`, `GRUCell`), with Keras' weight names, shapes and gate order.
- `layers.py`: the sequence layers (`SimpleRNN`, `LSTM`, `GRU`) that run a cell over
  time, computing what `keras.layers.*` compute; `inspect` returns every gate.
- `loop.py`: the time-major loop under them.
- `fused.py`: the LSTM's backward pass written by hand.
- `packed.py`: LSTM training and inference over packed sequences (TensorFlow only,
  imported where it runs).
- `compiled.py`: the LSTM's last states in inference, in chunks of steps compiled by
  XLA, for a few rows (TensorFlow only, imported where it runs).
- `gradients.py`: how far back a layer's gradient reaches.

It depends on nothing else in the package and only on `keras.ops` outside the
TensorFlow fast path, so it runs on the JAX and PyTorch backends too.

Example:

>>> from sentiment_lstm import rnn
>>> rnn.LSTM(4)(np.ones((2, 10, 8))).shape
(2, 4)
"""
from sentiment_lstm.rnn.cells import GRUCell, LSTMCell, SimpleRNNCell
from sentiment_lstm.rnn.layers import GRU, LSTM, Recurrent, SimpleRNN

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "Recurrent", "SimpleRNN", "SimpleRNNCell"]
