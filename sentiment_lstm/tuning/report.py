"""What a search leaves in `--out`, each file written whole (`files.atomic_file`), after
every trial:

    trials.csv    a row per completed trial: the values of the searched hyperparameters
                  (and of the fixed ones), its epochs, the mean and standard deviation of
                  the folds' validation accuracies, each fold's, the seconds of training
                  summed over the folds, and the model's parameters
    trials.png    mean ± standard deviation of the validation accuracy (error bars), and
                  the training time, against the first searched hyperparameter (the unit
                  count on a log axis, when searched)
    best.toml     a recipe of the best trial's settings: `train --recipe OUT/best.toml`

The best trial has the highest mean validation accuracy; of equal means, the one with
fewer parameters, then the earlier. The standard deviation is NumPy's (ddof 0), as
scikit-learn's `cross_val_score` examples report it. Imports nothing heavy
(matplotlib, when plotting).

Example:

>>> record = summarise(1, {"units": 32}, 4, [{"val_accuracy": 0.8, "seconds": 3.0, "parameters": 900, "epoch": 2},
...                                          {"val_accuracy": 0.9, "seconds": 5.0, "parameters": 910, "epoch": 3}])
>>> round(record["mean"], 4), round(record["std"], 4), record["train_seconds"], record["parameters"]
(0.85, 0.05, 8.0, 905)
"""
import csv
import dataclasses
import io
import json

import numpy as np

from sentiment_lstm.core.config import Config
from sentiment_lstm.core.files import atomic_file
from sentiment_lstm.core.recipe import RUN_OPTIONS
from sentiment_lstm.tuning.space import SEARCHABLE, describe

CSV, PLOT, BEST = "trials.csv", "trials.png", "best.toml"
MAX_LINES = 6  # lines of the plot, one per combination of the other searched values; more: the best at each x


def summarise(number, values, epochs, folds):
    """The record of trial `number` (from 1) of `values` (`{field: value}`) trained for at
    most `epochs` epochs, from its `folds`' results (`crossval.fit_fold`'s, in order)."""
    accuracies = [fold["val_accuracy"] for fold in folds]
    return {"trial": number, "values": dict(values), "epochs": epochs, "accuracies": accuracies,
            "mean": float(np.mean(accuracies)), "std": float(np.std(accuracies)),
            "kept_epochs": [fold["epoch"] for fold in folds],
            "train_seconds": round(float(sum(fold["seconds"] for fold in folds)), 1),
            "parameters": int(round(np.mean([fold["parameters"] for fold in folds])))}


def best(records):
    """The best of the trial `records`: the highest mean, then fewer parameters, then earlier."""
    return max(records, key=lambda r: (r["mean"], -r["parameters"], -r["trial"]))


def write_all(out, records, config, space, search):
    """Write trials.csv, trials.png and best.toml into `out` for the `records` so far (none
    written without one). `config`: the searched config (fixed values); `space`: the
    searched values; `search`: `{"strategy", "folds", "texts", "source", "data"}`, for
    best.toml's header (`data`: the data path as best.toml names it)."""
    if not records:
        return
    with atomic_file(out / CSV) as tmp:
        tmp.write_text(csv_text(records), encoding="utf-8")
    with atomic_file(out / PLOT) as tmp:
        plot(records, space, search, tmp)
    with atomic_file(out / BEST) as tmp:
        tmp.write_text(recipe_text(config, best(records), space, search, len(records), out / BEST),
                       encoding="utf-8")


def csv_text(records):
    """trials.csv of the `records`: a header and a row per trial, numbers in plain text."""
    folds = len(records[0]["accuracies"])
    header = ["trial", *SEARCHABLE, "epochs", "mean_val_accuracy", "std_val_accuracy",
              *(f"fold_{k}_val_accuracy" for k in range(1, folds + 1)), "train_seconds", "parameters"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for r in records:
        writer.writerow([r["trial"], *(r["values"][name] for name in SEARCHABLE), r["epochs"],
                         f"{r['mean']:.6f}", f"{r['std']:.6f}", *(f"{a:.6f}" for a in r["accuracies"]),
                         f"{r['train_seconds']:.1f}", r["parameters"]])
    return text.getvalue()


def plot(records, space, search, path):
    """Save trials.png: mean ± std of the validation accuracy, and the training time,
    against the first searched hyperparameter (the unit count if none), one line per
    combination of the other searched values (at most `MAX_LINES`, else one line of the
    best trial at each x); returns the matplotlib `Figure`."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    x_name = next(iter(space), "units")
    others = [name for name in space if name != x_name]
    lines = {}  # the other values -> {x: the best record there}
    for r in records:
        points = lines.setdefault(tuple(r["values"][name] for name in others), {})
        x = r["values"][x_name]
        points[x] = best([r, points[x]]) if x in points else r
    if len(lines) > MAX_LINES:
        merged = {}
        for points in lines.values():
            for x, r in points.items():
                merged[x] = best([r, merged[x]]) if x in merged else r
        lines, how = {(): merged}, f"the best trial at each {x_name.replace('_', ' ')}"
    else:
        how = ("one line per " + ", ".join(name.replace("_", " ") for name in others)) if others else ""
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    accuracy, seconds = figure.subplots(1, 2)
    for key, points in lines.items():
        xs = sorted(points)
        label = describe(dict(zip(others, key))) if others and len(key) else None
        accuracy.errorbar(xs, [points[x]["mean"] for x in xs], yerr=[points[x]["std"] for x in xs],
                          fmt="o-", capsize=4, label=label)
        seconds.plot(xs, [points[x]["train_seconds"] for x in xs], "o-", label=label)
    top = best(records)
    accuracy.plot([top["values"][x_name]], [top["mean"]], "*", color="black", markersize=14,
                  label=f"best: {describe({x_name: top['values'][x_name]})}")
    ticks = sorted({r["values"][x_name] for r in records})
    for ax in (accuracy, seconds):
        if x_name in ("units", "embed_dim"):  # sizes: doubling is the step that matters
            ax.set_xscale("log", base=2)
            ax.minorticks_off()
        ax.set_xticks(ticks, labels=[str(t) for t in ticks])
        ax.set_xlabel(x_name.replace("_", " "))
        ax.grid(alpha=0.3)
    folds = search["folds"]
    accuracy.set(ylabel="validation accuracy", title=f"mean ± std over {folds} folds")
    seconds.set(ylabel="seconds", title=f"training time, summed over the {folds} folds")
    accuracy.legend(fontsize="small")
    if len(lines) > 1:
        seconds.legend(fontsize="small")
    figure.suptitle(f"{search['strategy']} search, {folds}-fold cross-validation on {search['texts']:,} texts"
                    + (f": {how}" if how else ""))
    figure.savefig(path, dpi=100, format="png")
    return figure


def recipe_text(config, record, space, search, trials, path=BEST):
    """best.toml (to be written to `path`): the settings of `config` with the best
    `record`'s values, as a recipe (every `Config` field that is not its default, but the
    run options; the searched ones always; `data` as `search["data"]` names it), after a
    comment header saying how they were chosen among `trials` trials."""
    chosen = dataclasses.replace(config, **{name: record["values"][name] for name in space})
    nbsp = "\u00a0"  # binds words that a line must not part (textwrap breaks at spaces only)
    header = [
        f"Chosen by `sentiment-lstm tune`: a {search['strategy']} search of {trials} trial(s) over "
        + "; ".join(f"{name} {', '.join(str(v) for v in values)}" for name, values in space.items())
        + f", each a {search['folds']}-fold stratified cross-validation (seed {config.seed}) on the "
        f"{search['texts']:,} training texts of {search['source']}"
        + (f" (--limit{nbsp}{config.limit})" if config.limit is not None else "") + ".",
        f"Best: trial {record['trial']} ({describe({name: record['values'][name] for name in space})}): "
        f"mean validation accuracy {record['mean']:.4f}{nbsp}±{nbsp}{record['std']:.4f} over the folds "
        f"({', '.join(f'{a:.4f}' for a in record['accuracies'])}), {record['parameters']:,} parameters.",
        "Train it (validated as train validates):",
    ]
    lines = [f"# {line}".replace(nbsp, " ") for line in _wrap(header)]
    lines.append(f"#     sentiment-lstm train --recipe {path}")
    defaults = Config()
    for f in dataclasses.fields(Config):
        value = search["data"] if f.name == "data" else getattr(chosen, f.name)
        if f.name in RUN_OPTIONS or value is None:
            continue
        if f.name in space:
            lines.append(f"{f.name} = {_toml(value)}    # searched: {', '.join(str(v) for v in space[f.name])}")
        elif value != getattr(defaults, f.name):
            lines.append(f"{f.name} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value):
    """`value` (bool, int, float or str) as a TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    return repr(value)


def _wrap(paragraphs, width=92):
    """The `paragraphs` as lines of at most about `width` characters."""
    import textwrap

    return [line for text in paragraphs for line in textwrap.wrap(text, width, break_on_hyphens=False)]
