"""The labeled texts every step after the data takes: `Reviews`, and its splits."""
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from sentiment_lstm.core.errors import UserError

UNLABELED = -1


@dataclass
class Reviews:
    """A split: `texts[k]` is a review, `labels[k]` its class.

    Attributes:
        texts: list of `str`, one review each (HTML line breaks left in).
        labels: int64 array of the same length: 0 negative, 1 positive, -1 unlabeled.
    """

    texts: list
    labels: np.ndarray

    def __len__(self):
        return len(self.texts)

    def subset(self, indices):
        """The reviews at `indices` (an int array), in that order, as a new `Reviews`."""
        return Reviews([self.texts[i] for i in indices], self.labels[indices])


def _balanced_subset(reviews, limit, seed):
    """At most `limit` reviews, `limit // 2` per class (all unlabeled when unlabeled), in order."""
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise UserError(f"The review limit must be a positive integer, got {limit!r}.")
    rng = np.random.default_rng(seed)
    classes = np.unique(reviews.labels)
    per_class = limit if UNLABELED in classes else limit // 2
    if per_class < 1:
        raise UserError("The review limit must be at least 2 to take reviews of both classes.")
    chosen = []
    for label in classes:
        members = np.flatnonzero(reviews.labels == label)
        chosen.append(rng.choice(members, size=min(per_class, len(members)), replace=False))
    return reviews.subset(np.sort(np.concatenate(chosen)))


def split_validation(reviews, fraction=0.1, seed=0):
    """A seeded, stratified, disjoint (train, validation) split of labeled reviews.

    Args:
        reviews: a labeled `Reviews` (no -1 labels).
        fraction: share of the reviews that go to validation, in (0, 1).
        seed: seed of the split; the same seed gives the same split.

    Returns:
        `(train, validation)`, two `Reviews` keeping the original order and class ratio.

    Raises:
        UserError: bad fraction, unlabeled reviews, or too few reviews of a class to split.
    """
    if not 0 < fraction < 1:
        raise UserError(f"The validation fraction must be between 0 and 1, got {fraction}.")
    if np.any(reviews.labels == UNLABELED):
        raise UserError("Only labeled reviews can be split into training and validation sets.")
    try:
        train, validation = train_test_split(
            np.arange(len(reviews)), test_size=fraction, stratify=reviews.labels, random_state=seed
        )
    except ValueError as exc:
        counts = "/".join(str(n) for n in np.bincount(reviews.labels, minlength=2))
        raise UserError(
            f"Cannot carve a stratified {fraction:.0%} validation split out of {counts} "
            "negative/positive reviews; use more reviews or another fraction."
        ) from exc
    return reviews.subset(np.sort(train)), reviews.subset(np.sort(validation))
