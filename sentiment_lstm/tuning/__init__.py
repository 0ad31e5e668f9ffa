"""Hyperparameter search by k-fold cross-validation: `sentiment-lstm tune`.

    space.py      the values to search, from the list flags (`--units 16,32,64`)
    folds.py      the seeded, stratified k folds of the training texts
    project.py    the `--out` directory: checked before TensorFlow loads, resumable
    crossval.py   one fold of one trial: vectorize, build, fit, validate
    search.py     the KerasTuner tuner whose `run_trial` cross-validates
    report.py     trials.csv, trials.png and best.toml

Every trial trains one model per fold, on the other folds' texts, and validates it on
the fold's; its score is the mean validation accuracy over the folds. KerasTuner's
oracles (grid, random, Bayesian, Hyperband) choose the trials and keep the search
resumable. Only `crossval.py` and `search.py` load TensorFlow.
"""
