"""The search: a KerasTuner tuner whose trial is a k-fold cross-validation.

KerasTuner cross-validates no Keras model, so `CrossValidated` is a `BaseTuner` of
our own: its `run_trial` trains one model per fold (`crossval.fit_fold`) with the
trial's values in the config, prints a line per fold and one for the trial, and
returns the mean validation accuracy over the folds, the objective every oracle
maximises. `--strategy` picks the oracle (`make_oracle`): KerasTuner's grid search,
random search, Bayesian optimisation or Hyperband (whose trials also set the epochs:
each trains every fold from scratch for them, as no fold's model is kept).

The project directory is `--out` (`project.py`), reloaded rather than overwritten: a
killed search, started again with the same flags, runs only the trials left (the one
it interrupted from its first unfinished fold, `trial_<id>/folds.json`). A trial that
fails stops the search with its error, instead of KerasTuner's marking it failed and
going on.
"""
import contextlib
import dataclasses
import io
import itertools

import keras_tuner
import numpy as np
from keras_tuner.engine import base_tuner, trial as trial_module

from sentiment_lstm.core import progress
from sentiment_lstm.core.config import Config
from sentiment_lstm.tuning import crossval, project, report
from sentiment_lstm.tuning.space import SEARCHABLE, describe

OBJECTIVE = "val_accuracy"  # of the fold's kept epoch, averaged over the folds; maximised
_TYPES = {f.name: f.type for f in dataclasses.fields(Config)}


def make_oracle(strategy, space, max_trials=None, max_epochs=None, seed=0):
    """The KerasTuner oracle of `strategy` ("grid", "random", "bayesian", "hyperband")
    over `space` (`{field: values}`, each a `Choice`), printing nothing: at most
    `max_trials` trials (None: the grid's), Hyperband's up to `max_epochs` epochs."""
    hyperparameters = keras_tuner.HyperParameters()
    for name, values in space.items():
        hyperparameters.Choice(name, list(values), ordered=True)
    common = dict(objective=keras_tuner.Objective(OBJECTIVE, direction="max"), hyperparameters=hyperparameters,
                  seed=seed + 1)  # KerasTuner takes a seed of 0 for none
    grid = int(np.prod([len(values) for values in space.values()]))
    if strategy == "grid":
        oracle = GridOracle(space, max_trials=max_trials, **common)
    elif strategy == "random":
        oracle = keras_tuner.oracles.RandomSearchOracle(max_trials=max_trials or grid, **common)
    elif strategy == "bayesian":
        oracle = keras_tuner.oracles.BayesianOptimizationOracle(max_trials=max_trials or grid, **common)
    elif strategy == "hyperband":
        oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=max_epochs, **common)
    else:
        raise ValueError(f"`strategy` must be one of grid, random, bayesian, hyperband. Received: {strategy!r}")
    oracle.verbose = 0  # its own trial tables; ours are the progress lines
    return oracle


class GridOracle(keras_tuner.Oracle):
    """KerasTuner's grid search, in its order (the first hyperparameter's values
    slowest, each in the order given), that knows its place in the grid after a reload.

    KerasTuner 1.4.8's `GridSearchOracle` keeps where it is in the grid in two fields
    that it does not save (keras-team/keras-tuner#1055): reloaded after a kill between
    trials it ends the search at once, and after a kill within one it fails with a
    KeyError. This one saves nothing of its own: each new trial takes the first
    combination of `space` (`{field: values}`) that no trial of the project has had.
    """

    def __init__(self, space, **kwargs):
        super().__init__(**kwargs)
        self.names = list(space)
        self.grid = [dict(zip(self.names, values)) for values in itertools.product(*space.values())]

    def populate_space(self, trial_id):
        tried = [{name: t.hyperparameters.values.get(name) for name in self.names} for t in self.trials.values()]
        for values in self.grid:
            if values not in tried:
                return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        if self.ongoing_trials:  # (several tuners: wait for them)
            return {"status": trial_module.TrialStatus.IDLE, "values": None}
        return {"status": trial_module.TrialStatus.STOPPED, "values": None}


class CrossValidated(base_tuner.BaseTuner):
    """A tuner whose trials cross-validate `config` with the trial's values on the
    labeled `data` (a `Dataset`), over `folds` (`folds.stratified_folds`), in the
    project directory `out`; `unlabeled`: the teacher's texts, or None; `total`: the
    number of trials, for the progress lines (None: unknown); `after_trial(records)`:
    called with every completed trial's record (`report.summarise`) after each trial."""

    def __init__(self, oracle, out, config, data, folds, unlabeled=None, total=None, after_trial=None):
        self.config, self.data, self.folds, self.unlabeled = config, data, folds, unlabeled
        self.total, self.after_trial = total, after_trial
        with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner's "Reloading Tuner from ..."
            super().__init__(oracle, directory=str(out.parent), project_name=out.name, overwrite=False)

    def run_trial(self, trial, *args, **kwargs):
        """Cross-validate the trial's values; `{"val_accuracy": the mean over the folds}`."""
        try:
            record = self.cross_validate(trial)
        except Exception as error:  # stop the search (KerasTuner would record a failed trial and go on)
            raise keras_tuner.errors.FatalError(str(error)) from error
        return {OBJECTIVE: record["mean"]}

    def cross_validate(self, trial):
        """Fit and validate each fold not done yet (recorded in the trial's `folds.json` as
        it finishes); the trial's record (`report.summarise`)."""
        values, epochs = self.values_of(trial)
        config = dataclasses.replace(self.config, **values, epochs=epochs)
        directory = self.get_trial_dir(trial.trial_id)
        recorded = {**values, "epochs": epochs}
        done = project.read_folds(directory, recorded)
        name = self.trial_name(trial, values, epochs)
        for k, (train, validation) in enumerate(self.folds):
            note = " (done before the interruption)" if k in done else ""
            if k not in done:
                done[k] = crossval.fit_fold(config, self.data.subset(train), self.data.subset(validation),
                                            self.unlabeled)
                project.write_folds(directory, recorded, done)
            fold = done[k]
            progress.stage(f"{name}: fold {k + 1}/{len(self.folds)} val_accuracy {fold['val_accuracy']:.4f} "
                           f"(epoch {fold['epoch']} of {fold['epochs']}) in {fold['seconds']:.0f} s{note}")
        record = self.record(trial, values, epochs, done)
        progress.stage(f"{name}: mean val_accuracy {record['mean']:.4f} ± {record['std']:.4f} over "
                       f"{len(self.folds)} folds, {record['train_seconds']:.0f} s of training, "
                       f"{record['parameters']:,} parameters")
        return record

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # KerasTuner saves the trial's end first: the outputs never run ahead of it
        if self.after_trial is not None:
            self.after_trial(self.records())

    def values_of(self, trial):
        """`({searched field: value}, epochs)` of `trial` (Hyperband's epochs, else the config's)."""
        given = trial.hyperparameters.values
        values = {name: _TYPES[name](given[name]) for name in SEARCHABLE if name in given}
        return values, int(given.get("tuner/epochs", self.config.epochs))

    def record(self, trial, values, epochs, folds):
        """The record of `trial` (`report.summarise`) from its `folds` `{index: result}`."""
        fixed = {name: getattr(self.config, name) for name in SEARCHABLE}
        return report.summarise(int(trial.trial_id) + 1, {**fixed, **values}, epochs,
                                [folds[k] for k in range(len(self.folds))])

    def records(self):
        """The records of the completed trials, in the order they started."""
        records = []
        for trial in sorted(self.oracle.trials.values(), key=lambda t: int(t.trial_id)):
            if trial.status != trial_module.TrialStatus.COMPLETED:
                continue
            values, epochs = self.values_of(trial)
            folds = project.read_folds(self.get_trial_dir(trial.trial_id), {**values, "epochs": epochs})
            if len(folds) == len(self.folds):
                records.append(self.record(trial, values, epochs, folds))
        return records

    def trial_name(self, trial, values, epochs):
        """"Trial 2/5 (units 32)", with Hyperband's epochs."""
        number = int(trial.trial_id) + 1
        of = f"/{self.total}" if self.total else ""
        also = f", {epochs} epoch{'s' if epochs != 1 else ''}" if "tuner/epochs" in trial.hyperparameters.values else ""
        return f"Trial {number}{of} ({describe(values)}{also})"


def search(tuner):
    """Run the `tuner`'s search to its end: the trials left, one after another.

    Raises:
        whatever a trial raised (a `UserError` included), as it raised it.
    """
    try:
        tuner.search()
    except keras_tuner.errors.FatalError as error:
        if error.__cause__ is not None:
            raise error.__cause__ from None
        raise


def completed(tuner):
    """How many of the `tuner`'s trials are completed (after a reload: those done before)."""
    return sum(t.status == trial_module.TrialStatus.COMPLETED for t in tuner.oracle.trials.values())
