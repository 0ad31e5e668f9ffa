"""A run's history: read from the work area's CSV log, copied into the model directory
with `history.json` and the training curves, and the epoch it keeps."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np

from sentiment_lstm.core import progress
from sentiment_lstm.core.layout import CURVES_PNG, HISTORY_CSV, HISTORY_JSON, LOGS_DIR

MONITOR = "val_loss"  # what chooses the epoch kept


def read_history(csv_path):
    """{metric: [value per epoch]} from a CSVLogger file (without the columns it fills with
    "NA"); {} when there is none."""
    if not Path(csv_path).exists():
        return {}
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    # CSVLogger writes "NA" in the val_ columns of a run without validation: left out
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})
            if any(row[key] != "NA" for row in rows)}


def write_history(directory, work):
    """Copy the CSV and TensorBoard logs from `work`; add `history.json` and the curves PNG."""
    directory = Path(directory)
    shutil.copy(work / HISTORY_CSV, directory / HISTORY_CSV)
    shutil.copytree(work / LOGS_DIR, directory / LOGS_DIR)
    history = read_history(work / HISTORY_CSV)
    (directory / HISTORY_JSON).write_text(json.dumps(history, indent=2))
    plot_history(history, directory / CURVES_PNG)


def plot_history(history, path):
    """Save loss and accuracy per epoch, training and (if any) validation, as a PNG: whole
    epochs on the x axis, and a dashed line at the epoch kept (`kept_epoch`); returns the
    matplotlib `Figure`."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 4), layout="constrained")
    epochs = [int(e) + 1 for e in history["epoch"]]
    kept = kept_epoch(history)
    for ax, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        ax.plot(epochs, history[metric], "o-", label="training")
        if f"val_{metric}" in history:  # none in a refit without validation
            ax.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
        if kept is not None:
            ax.axvline(epochs[kept], color="gray", linestyle="--", label=f"kept: epoch {epochs[kept]}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.legend()
    figure.savefig(path, dpi=100)
    return figure


def kept_epoch(history):
    """The index of the epoch whose weights are published: the lowest `val_loss`, or
    the last epoch without validation; None for an empty history."""
    if MONITOR in history:
        return int(np.argmin(history[MONITOR]))
    return len(history["epoch"]) - 1 if history.get("epoch") else None


def report_kept(history, config, early_stopping=None):
    """Print how the fit ended and which epoch is kept (`kept_epoch`)."""
    kept = kept_epoch(history)
    if kept is None:
        return
    ran = len(history["epoch"])
    if MONITOR not in history:
        progress.stage(f"Trained {ran} of {config.epochs} epochs: kept the last, epoch {kept + 1}.")
        return
    how = (f"Stopped after epoch {ran} of {config.epochs} (no lower {MONITOR} for {config.patience} epochs)"
           if early_stopping is not None and early_stopping.stopped_epoch > 0
           else f"Trained {ran} of {config.epochs} epochs")
    progress.stage(f"{how}: kept epoch {kept + 1}, {MONITOR} {history[MONITOR][kept]:.4f}.")
