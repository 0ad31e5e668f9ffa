"""The Keras callbacks of a training run, and its work area `<model_dir>.work/`:

    backup/             BackupAndRestore: a killed run, started again with the same
                        config, resumes after its last completed epoch (the backup is
                        written first at an epoch's end, so a kill in the instant
                        before that epoch's checkpoint and row loses those two)
    best.weights.h5     ModelCheckpoint of the best val_loss so far (across restarts)
    history.csv         CSVLogger, appended to on resume: one row per epoch
    logs/               TensorBoard
    config.json         the config of the run, to tell whether a backup is resumable
"""
import shutil

import keras

from sentiment_lstm.core import progress
from sentiment_lstm.core.layout import CONFIG_FILE, HISTORY_CSV, LOGS_DIR
from sentiment_lstm.model import optimizer
from sentiment_lstm.training.history_files import MONITOR, read_history

BEST_WEIGHTS = "best.weights.h5"  # in the work area: the weights of the lowest val_loss so far
BACKUP = "backup"  # in the work area: BackupAndRestore's


class StepsKnown(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, told the steps per epoch that the dataset cannot tell it
    (`pipeline.make_dataset`), so even the first epoch shows `k/steps` and a time left."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def set_params(self, params):
        super().set_params({**params, "steps": params.get("steps") or self.steps})


class Resumed(keras.callbacks.Callback):
    """Says so when `fit` starts after epoch 1, i.e. BackupAndRestore resumed a run."""

    def __init__(self, backup):
        super().__init__()
        self.backup, self.first = backup, True

    def on_epoch_begin(self, epoch, logs=None):
        if self.first and epoch > 0:
            progress.stage(f"Resuming after epoch {epoch} from {self.backup}")
        self.first = False


def prepare_work_area(work, config):
    """Create `work`, first discarding what an interrupted run with another config left."""
    saved = work / CONFIG_FILE
    if saved.exists() and saved.read_text() != config.to_json():
        print(f"Discarding the interrupted run in {work}: it used different settings.")
        shutil.rmtree(work)
    if not (work / BACKUP).exists():  # nothing to resume: start the logs afresh
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    saved.write_text(config.to_json())
    return work


def make_callbacks(config, work):
    """BackupAndRestore, [LearningRateScheduler,] [SwapEMAWeights,] EarlyStopping,
    ModelCheckpoint, CSVLogger and TensorBoard.

    The backup comes first: it keeps the weights that training goes on from, and with
    `--ema-momentum`, `SwapEMAWeights` then puts the averaged ones in for the callbacks
    after it, which choose, restore and save the weights that are published. Without a
    validation texts (`val_fraction` 0, no `val_data`) there is nothing to choose by: no early stopping
    and no checkpoint, and the last epoch's weights are published.
    """
    history = read_history(work / HISTORY_CSV)
    best_so_far = min(history.get(MONITOR, []), default=None)
    choosing = [
        keras.callbacks.EarlyStopping(monitor=MONITOR, patience=config.patience,
                                      restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(work / BEST_WEIGHTS), monitor=MONITOR,
                                        save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=best_so_far),
    ] if config.validates else []
    return [
        keras.callbacks.BackupAndRestore(str(work / BACKUP), double_checkpoint=True),
        *optimizer.learning_rate_callbacks(config),
        *optimizer.ema_callbacks(config),
        *choosing,
        keras.callbacks.CSVLogger(str(work / HISTORY_CSV), append=True),
        keras.callbacks.TensorBoard(str(work / LOGS_DIR)),
    ]
