"""`training.set_threads`: TensorFlow's per-op threads, set before its first op."""
from script_runner import run_script

SNIPPET = """
import warnings
import tensorflow as tf
from sentiment_lstm import training
training.set_threads(1)
tf.constant(1.0) + 1.0  # the runtime starts here, with one thread per op
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    training.set_threads(1)  # the same: nothing to say
    quiet = len(caught)
    training.set_threads(2)  # too late
print(tf.config.threading.get_intra_op_parallelism_threads(), quiet, [str(w.message) for w in caught])
"""


def test_set_before_the_first_op_and_kept_after():
    result = run_script("-c", SNIPPET)
    assert result.returncode == 0, result.stderr.decode()
    threads, quiet, messages = result.stdout.decode().strip().split(" ", 2)
    assert threads == "1" and quiet == "0"
    assert "already runs with intra_op_threads=1" in messages
