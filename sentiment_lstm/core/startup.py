"""Load TensorFlow quietly when its log level asks for quiet.

TensorFlow writes a notice or two straight to the standard error file while it
loads (for example "oneDNN custom operations are on"), before its
`TF_CPP_MIN_LOG_LEVEL` applies. The scripts set that level to 3 so that stderr
holds only the project's own one-sentence errors; this makes the level hold for
those notices too, by pointing file descriptor 2 at the null device while
TensorFlow loads. An import that fails still raises, after stderr is restored.

Turning oneDNN off (`TF_ENABLE_ONEDNN_OPTS=0`) silences it as well, but it changes
the kernels TensorFlow ships with: measured here, the plain Keras LSTM pipeline's
epoch went from about 20.5 s to 16–18 s with oneDNN on (ours stayed about 13 s),
so turning it off would flatter our benchmarks.
"""
import os
import sys


def import_tensorflow():
    """`import tensorflow`, discarding what it writes to fd 2 while loading when
    `TF_CPP_MIN_LOG_LEVEL` is 1 or more; returns the module."""
    quiet = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip() not in ("", "0")
    if "tensorflow" in sys.modules or not quiet:
        import tensorflow

        return tensorflow
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr: nothing to keep clean
        import tensorflow

        return tensorflow
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tensorflow
