"""The k folds of cross-validation: seeded and stratified, the same for every trial.

scikit-learn's `StratifiedKFold` (shuffled, seeded by `--seed`) parts the training
texts into k folds of about equal size, each with the classes in the proportions of
the whole; fold i validates the model trained on the other k - 1. Every text is
validated exactly once. Imports nothing heavy (scikit-learn, when called).

Example:

>>> data = Dataset.from_names(["a", "b", "c", "d"], ["x", "y", "x", "y"])
>>> [(train.tolist(), validation.tolist()) for train, validation in stratified_folds(data, 2, seed=0)]
[([0, 3], [1, 2]), ([1, 2], [0, 3])]
"""
import numpy as np

from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import UNLABELED


def stratified_folds(data, k, seed=0):
    """`[(training indices, validation indices)]` of the k folds of the labeled `data`
    (a `Dataset`), each array sorted.

    Raises:
        UserError: k below 2, unlabeled texts, or a class with fewer than k texts (a
            fold could not hold one of each).
    """
    from sklearn.model_selection import StratifiedKFold  # 0.5 s to import: not for a command's --help

    of = f" of {data.source}" if data.source else ""
    if k < 2:
        raise UserError(f"Cross-validation needs at least 2 folds, not {k}.")
    if np.any(data.labels == UNLABELED):
        raise UserError(f"Only labeled texts can be cross-validated, but some{of} have no class.")
    counts = data.counts()
    name, fewest = min(counts.items(), key=lambda item: item[1])
    if fewest < k:
        raise UserError(f"The class {name!r}{of} has {fewest} text(s), too few for {k} stratified folds; "
                        f"give --folds {max(fewest, 2)} or fewer, or more texts of it.")
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.sort(train), np.sort(validation))
            for train, validation in splitter.split(np.zeros(len(data)), data.labels)]
