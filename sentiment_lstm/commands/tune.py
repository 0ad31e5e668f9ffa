"""Choose hyperparameters by k-fold cross-validation: every combination of the listed
values (a trial) trains a model per fold, and scores the mean validation accuracy.

    sentiment-lstm tune --recipe trec --units 16,32,64,128,256 --folds 3 --out runs/trec_units
    sentiment-lstm tune --units 16,32,64,128 --dropout 0.3,0.5 --limit 4000 --out runs/imdb_units
    sentiment-lstm tune --data tickets.csv --units 32,64,128,256 --embed-dim 32,64,128 --strategy bayesian --trials 6 --out runs/tickets
    sentiment-lstm train --recipe runs/trec_units/best.toml        # then train the best

Every flag of `train` works as it does there (`--recipe`, `--data`, `--limit`,
`--epochs` ...), but `--units`, `--embed-dim`, `--dropout` and `--layers` take
comma-separated lists of values to search (one value: fixed). The training texts of
`--data` (at most `--limit`) are parted into `--folds` stratified folds, seeded by
`--seed`; each fold's model trains on the other folds, as `train` trains (the recipe's
teacher and crops included, fitted on those folds' texts), with early stopping on the
fold's validation loss, and scores the validation accuracy of the epoch it keeps.
`--strategy` is KerasTuner's grid search (the default: every combination), random
search, Bayesian optimisation or Hyperband. `--out` is KerasTuner's project directory;
after each trial it gets trials.csv (a row per trial: the values, the mean and
standard deviation of the folds' accuracies, each fold's, the training seconds and the
parameters), trials.png (accuracy and time against the unit count) and best.toml (a
recipe of the best trial's settings for `train --recipe`). A search that is killed
resumes with the trials left when started again with the same flags.
"""
import argparse
import dataclasses
import time
from pathlib import Path

from sentiment_lstm.core import checks, config, lock, progress, recipe, startup
from sentiment_lstm.core.errors import UsageError, UserError
from sentiment_lstm.data import sources
from sentiment_lstm.tuning import folds as folding
from sentiment_lstm.tuning import project, report, space as spaces

HELP = "choose hyperparameters (the unit count, ...) by k-fold cross-validation with KerasTuner"

# train's flags that mean nothing here, and why
NOT_HERE = {
    "model_dir": "it publishes no model (train the best with --recipe OUT/best.toml)",
    "val_data": "each fold validates on the texts it holds out",
    "val_fraction": "each fold validates on the texts it holds out (see --folds)",
    "distribute": "each fold trains in this process",
}
_EXAMPLES = {"units": "16,32,64,128", "embed_dim": "32,64,128", "dropout": "0.2,0.5", "layers": "1,2"}


def add_arguments(parser):
    defaults = recipe.load(recipe.DEFAULT)
    config.make_parser(parser, recipe_defaults=defaults)
    parser.conflict_handler = "resolve"  # the search's list flags replace train's flags of one value
    group = parser.add_argument_group("search")
    fields = {f.name: f for f in dataclasses.fields(config.Config)}
    for name in spaces.SEARCHABLE:
        f = fields[name]
        default = defaults.get(name, f.default)
        group.add_argument(f"--{config.flag_name(name)}", type=spaces.list_type(name), default=argparse.SUPPRESS,
                           metavar=f"{name.upper()}[,...]",
                           help=f"{f.metadata['help']}: comma-separated values to search, e.g. {_EXAMPLES[name]}; "
                                f"one value: fixed (default: the recipe's, {default} without --recipe)")
    parser.conflict_handler = "error"
    group.add_argument("--folds", type=checks.whole_number_argument(2), default=5, metavar="K",
                       help="stratified folds of the training texts, seeded by --seed; each validates once "
                            "(default: %(default)s)")
    group.add_argument("--strategy", choices=spaces.STRATEGIES, default="grid",
                       help="KerasTuner's search: grid (every combination), random, bayesian (Gaussian-process "
                            "Bayesian optimisation) or hyperband (which also chooses the epochs, up to --epochs) "
                            "(default: %(default)s)")
    group.add_argument("--trials", type=checks.whole_number_argument(1), metavar="N",
                       help="the most trials of a random, bayesian or grid search (default: every combination)")
    group.add_argument("--out", required=True, metavar="DIR",
                       help="the search's directory (KerasTuner's project, resumable) and its results: trials.csv, "
                            "trials.png and best.toml")


def run(args):
    for name, why in NOT_HERE.items():
        if name in vars(args):
            raise UsageError(f"--{config.flag_name(name)} does not apply to tune: {why}.")
    try:
        settings, space = spaces.from_args(args)
    except UserError as error:  # flags fine alone but not together, or a bad recipe
        raise UsageError(str(error)) from None
    if args.strategy != "grid" and not space:
        raise UsageError(f"--strategy {args.strategy} needs values to choose from: give --units (or --embed-dim, "
                         "--dropout, --layers) two or more, e.g. --units 16,32,64.")
    if args.strategy == "hyperband" and args.trials is not None:
        raise UsageError("--trials does not apply to --strategy hyperband, whose brackets set the trials "
                         "(from --epochs).")
    # Paths first: a mistake is reported before TensorFlow loads.
    given_data = settings.data
    settings = dataclasses.replace(settings, data=sources.locate(settings.data))
    sources.check(settings.data, settings.text_column, settings.label_column)
    if settings.unlabeled not in (None, sources.NO_UNLABELED):
        sources.check_unlabeled(settings.unlabeled, settings.text_column)
    described = {"config": dataclasses.asdict(settings), "space": {k: list(v) for k, v in space.items()},
                 "strategy": args.strategy, "folds": args.folds, "trials": args.trials}
    out, resuming = project.check(args.out, described)
    with lock.hold(out, what="search directory", flag="--out"):  # a second tune on this --out stops here
        project.start(out, described)
        data, folds = read_folds(settings, args.folds)
        tf = startup.import_tensorflow()
        tf.get_logger().setLevel("ERROR")  # its retracing warnings: every fold builds a new model, as it must
        from sentiment_lstm.training import loop
        from sentiment_lstm.tuning import search

        loop.set_threads(settings.intra_op_threads)
        loop.seed_everything(settings.seed, settings.deterministic)
        unlabeled = loop.unlabeled_texts(settings, data)
        grid = spaces.grid_size(space)
        total = None if args.strategy == "hyperband" else min(args.trials or grid, grid)
        about = {"strategy": args.strategy, "folds": args.folds, "texts": len(data), "source": data.source,
                 "data": recipe_data_path(given_data, settings.data)}
        tuner = search.CrossValidated(
            search.make_oracle(args.strategy, space, args.trials, settings.epochs, settings.seed),
            out, settings, data, folds, unlabeled, total,
            after_trial=lambda records: report.write_all(out, records, settings, space, about))
        say_what(search.completed(tuner), total, args, space, settings, out, resuming)
        search.search(tuner)
        records = tuner.records()
        if not records:
            raise UserError(f"No trial of the search in {out} completed.")
        report.write_all(out, records, settings, space, about)
        top = report.best(records)
        progress.stage(f"Best: trial {top['trial']} ({spaces.describe({n: top['values'][n] for n in space})}), "
                       f"mean val_accuracy {top['mean']:.4f} ± {top['std']:.4f} over {args.folds} folds; wrote "
                       f"{report.CSV}, {report.PLOT} and {report.BEST} to {out}")
        progress.stage(f"Train it: sentiment-lstm train --recipe {out / report.BEST}")


def read_folds(settings, k):
    """`(texts, folds)`: all the training texts of the data (at most `--limit`; no
    validation split: the folds are the validation), and their k folds."""
    started = time.perf_counter()
    data, _ = sources.training_data(dataclasses.replace(settings, val_fraction=0.0, val_data=None))
    folds = folding.stratified_folds(data, k, settings.seed)
    sizes = sorted({len(validation) for _, validation in folds})
    sizes = f"{sizes[0]:,} each" if len(sizes) == 1 else f"{sizes[0]:,} to {sizes[-1]:,}"
    progress.stage(f"Data: {data.source}: {len(data):,} texts of {data.num_classes} classes ({data.describe_counts()}), "
                   f"{k} stratified folds of {sizes}", started)
    return data, folds


def recipe_data_path(given, located):
    """The data path best.toml names: as the recipe or flag gave it when it is found in
    the data folders (`sources.locate`) as train finds it, else absolute (None: IMDB)."""
    if located is None:
        return None
    if located != given:
        return given
    return str(Path(located).expanduser().resolve())


def say_what(done, total, args, space, settings, out, resuming):
    """The line that says what the search does (or, resumed, how far it got)."""
    what = "; ".join(f"{config.flag_name(k)} {', '.join(str(v) for v in values)}" for k, values in space.items())
    each = [f"the {settings.teacher} teacher fitted on its training texts"] if settings.teacher != "none" else []
    each += [f"{settings.crops} crops of each text"] if settings.crops else []
    trials = f"{total} trials" if total else "Hyperband's trials"
    progress.stage(f"Search: {args.strategy} over {what or 'nothing (the settings as given)'}, {trials} of "
                   f"{args.folds} folds" + (f", each fold with {' and '.join(each)}" if each else "")
                   + f"; in {out}")
    if resuming:
        progress.stage(f"Resuming: {done} trial(s) done before" + (f", {max(total - done, 0)} left" if total else ""))
