"""A training process for tests/test_distributed.py: `train.py` with a test's settings.

    python tests/distributed_worker.py DEVICES WEIGHTS_DIR [train.py flags]

Before TensorFlow runs an op it gives the process one inter-op thread and DEVICES
logical CPU devices (`tf.config.set_logical_device_configuration`, for `--distribute
mirrored`); then it trains as `train.py` does, saving the token model's weights at the
end of every epoch to WEIGHTS_DIR/epoch<k>.npz (k from 1), to compare processes.
"""
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sentiment_lstm

import keras  # noqa: E402

from sentiment_lstm import cli  # noqa: E402
from sentiment_lstm.core import config, recipe
from sentiment_lstm.training import loop


class SaveWeights(keras.callbacks.Callback):
    """Save the model's weights at each epoch's end to `directory/epoch<k>.npz`."""

    def __init__(self, directory):
        super().__init__()
        self.directory = Path(directory)

    def on_epoch_end(self, epoch, logs=None):
        np.savez(self.directory / f"epoch{epoch + 1}.npz", *self.model.get_weights())


def main(devices, weights_dir, argv):
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    Path(weights_dir).mkdir(parents=True, exist_ok=True)
    settings = recipe.from_args(config.make_parser(cli.ArgumentParser()).parse_args(argv))
    cli.run(lambda: loop.train(settings, callbacks=[SaveWeights(weights_dir)]))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3:])
