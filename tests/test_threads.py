"""`loop.set_threads`: TensorFlow's per-op threads, set before its first op."""
import pytest

from script_runner import run_script

SNIPPET = """
import warnings
import tensorflow as tf
from sentiment_lstm.training import loop
loop.set_threads(1)
tf.constant(1.0) + 1.0  # the runtime starts here, with one thread per op
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loop.set_threads(1)  # the same: nothing to say
    quiet = len(caught)
    loop.set_threads(2)  # too late
print(tf.config.threading.get_intra_op_parallelism_threads(), quiet, [str(w.message) for w in caught])
"""


def test_set_before_the_first_op_and_kept_after():
    result = run_script("-c", SNIPPET)
    assert result.returncode == 0, result.stderr.decode()
    threads, quiet, messages = result.stdout.decode().strip().split(" ", 2)
    assert threads == "1" and quiet == "0"
    assert "already runs with intra_op_threads=1" in messages


def test_train_sets_the_threads_first(tmp_path, monkeypatch):
    """`loop.train` applies `intra_op_threads` before it reads any data."""
    from sentiment_lstm.core.config import Config
    from sentiment_lstm.training import loop

    class Applied(Exception):
        pass

    def set_threads(intra_op):
        raise Applied(intra_op)

    monkeypatch.setattr(loop, "set_threads", set_threads)
    config = Config(intra_op_threads=3, data=str(tmp_path / "no-such-archive.tar.gz"),
                    model_dir=str(tmp_path / "model"))
    with pytest.raises(Applied) as applied:
        loop.train(config)  # the missing data would fail later
    assert applied.value.args == (3,)
