"""The end of an epoch with tf.data's autotuning on and off, side by side, in one process.

Keras opens an iterator over the training batches for each epoch and deletes it at the
epoch's end. This builds the default recipe's training batches as `train` does
(`loop.fit_inputs`: the reviews, their crops and the teacher's targets), then fits one
model one epoch at a time, `--rounds` times with each setting in turn (on, off, on, ...):
the batches as training reads them (`pipeline.prefetched`: autotuning off) and the same
batches with autotuning on and a buffer it sizes (`prefetch(tf.data.AUTOTUNE)`, as
training had them before). For each fit it records the wall time, and the part of it
after the last training step (Keras' `on_train_end` to `fit`'s return), where the
iterator is deleted.

    python benchmarks/epoch_end.py [--rounds 6] [--recipe default] \
        [--out benchmarks/results/epoch_end.json]
"""
import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import imdb  # noqa: E402
from sentiment_lstm.core import checks  # noqa: E402

SETTINGS = ("autotuning on", "autotuning off (training's)")
IDLE_S = 1.0  # more than this after the last step counts as a stall


def make_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="default", help="whose training batches (default: %(default)s)")
    parser.add_argument("--rounds", type=checks.whole_number_argument(), default=6)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "epoch_end.json"))
    return parser


def summary(fits):
    """`fits` (dicts of `wall_s` and `after_last_step_s`) summed up: the median wall time,
    how many stalled (more than `IDLE_S` after the last step) and the longest wait."""
    waits = [f["after_last_step_s"] for f in fits]
    return {"median_wall_s": statistics.median(f["wall_s"] for f in fits),
            "stalled": sum(w > IDLE_S for w in waits), "longest_after_last_step_s": max(waits)}


def markdown(results):
    lines = [imdb.run_line(results["environment"]), "",
             f"Command: `{results['command']}` ({results['batches_per_epoch']:,} batches an epoch)", "",
             "| iterator | epoch wall, each fit (s) | after the last step, each fit (s) | median wall | stalled |",
             "|---|---|---|---:|---:|"]
    for name, entry in results["settings"].items():
        walls = ", ".join(f"{f['wall_s']:.1f}" for f in entry["fits"])
        waits = ", ".join(f"{f['after_last_step_s']:.1f}" for f in entry["fits"])
        lines.append(f"| {name} | {walls} | {waits} | {entry['median_wall_s']:.1f} s | "
                     f"{entry['stalled']} of {len(entry['fits'])} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = make_parser().parse_args(argv)
    import keras
    import tensorflow as tf

    from benchmarks.environment import describe, write_json
    from sentiment_lstm.core import recipe
    from sentiment_lstm.core.config import Config
    from sentiment_lstm.training import loop

    config = Config(**recipe.load(args.recipe))
    loop.set_threads(config.intra_op_threads)
    loop.seed_everything(config.seed, config.deterministic)
    train, validation, vectorizer = loop.read_splits(config)
    unlabeled = loop.unlabeled_texts(config, train)
    batches, _, ngram_keys, _ = loop.fit_inputs(config, train, None, unlabeled, vectorizer)
    tuned = tf.data.Options()
    tuned.autotune.enabled = True
    # As before `pipeline.prefetched`: a buffer autotuning sizes (with nothing to tune,
    # autotuning runs no thread).
    datasets = {SETTINGS[0]: batches.prefetch(tf.data.AUTOTUNE).with_options(tuned), SETTINGS[1]: batches}
    model = loop.build_model(config, vectorizer, ngram_keys, train, unlabeled)

    class LastStep(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            self.at = time.perf_counter()

    results = {"command": imdb.command_line(["benchmarks/epoch_end.py", *argv]), "environment": describe(),
               "recipe": args.recipe, "batches_per_epoch": batches.batches_per_epoch,
               "settings": {name: {"fits": []} for name in SETTINGS}}
    warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
    for round_number in range(1, args.rounds + 1):
        for name, dataset in datasets.items():
            last = LastStep()
            started = time.perf_counter()
            model.fit(dataset, epochs=1, callbacks=[last], verbose=0, shuffle=False)
            fit = {"wall_s": time.perf_counter() - started, "after_last_step_s": time.perf_counter() - last.at}
            results["settings"][name]["fits"].append(fit)
            print(f"round {round_number}, {name}: {fit['wall_s']:.1f} s, {fit['after_last_step_s']:.1f} s "
                  "after the last step", flush=True)
    for entry in results["settings"].values():
        entry.update(summary(entry["fits"]))
    write_json(args.out, results)
    table = Path(args.out).with_suffix(".md")
    staged = table.with_name(table.name + ".tmp")
    staged.write_text(markdown(results))
    os.replace(staged, table)  # written whole or not at all
    print(markdown(results))


if __name__ == "__main__":
    main()
