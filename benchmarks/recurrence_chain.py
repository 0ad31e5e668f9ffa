"""What one LSTM step costs on the critical path: op overhead or arithmetic?

    python benchmarks/recurrence_chain.py

Times the forward recurrence alone (`LSTMCell.transition`, 64 units) over 200 steps,
written out in blocks of 8 steps inside a `tf.while_loop`, as `rnn/packed.py` runs it:
plain TensorFlow ops, the same block compiled by XLA (which fuses the elementwise ops
and removes the per-op dispatch), and plain ops with 32 and 16 rows instead of 64.
If XLA is no faster, the step is bound by its arithmetic (the `(rows, 64) @ (64, 256)`
product on one core), not by TensorFlow's per-op overhead. Prints milliseconds per
200 steps, the median of `--repeats` runs; nothing is written.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf  # noqa: E402

from sentiment_lstm.rnn.cells import LSTMCell  # noqa: E402

UNITS, BLOCK, BLOCKS = 64, 8, 25


def block_of_steps(cell, weights):
    def block(x_b, h, c):
        hs = []
        for j in range(BLOCK):
            q = cell.transition(x_b[j], [h, c], weights)
            h, c = q["h"], q["c"]
            hs.append(h)
        return tf.stack(hs), h, c

    return block


def timed(block, rows, repeats):
    x = tf.random.stateless_normal((BLOCKS, BLOCK, rows, 4 * UNITS), seed=(0, rows))

    @tf.function
    def recurrence():
        def body(k, h, c, outputs):
            y, h, c = block(x[k], h, c)
            return k + 1, h, c, outputs.write(k, y)

        zeros = tf.zeros((rows, UNITS))
        outputs = tf.TensorArray(tf.float32, size=BLOCKS)
        return tf.while_loop(lambda k, *_: k < BLOCKS, body, (0, zeros, zeros, outputs))[3].stack()

    recurrence(), recurrence()  # trace, compile, warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        recurrence().numpy()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    cell = LSTMCell(UNITS)
    cell.build((None, UNITS))
    weights = cell.recurrent_weights()
    plain = block_of_steps(cell, weights)
    xla = tf.function(plain, jit_compile=True)
    print(f"200 forward steps, {UNITS} units, blocks of {BLOCK} (ms, median of {args.repeats}):")
    for name, block, rows in (("plain ops", plain, 64), ("XLA-compiled block", xla, 64),
                              ("plain ops", plain, 32), ("plain ops", plain, 16)):
        print(f"  {name:20s} {rows:3d} rows  {timed(block, rows, args.repeats):6.2f}")


if __name__ == "__main__":
    main()
