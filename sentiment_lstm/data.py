"""Step 1 of the pipeline: raw IMDB reviews and their labels.

INTERFACE STUB — to be implemented (issue 3, section 1). Signatures are the contract
other modules code against; keep them.
"""
from dataclasses import dataclass

import numpy as np

LABELS = ("negative", "positive")  # class index 0, 1


@dataclass
class Reviews:
    """A split: `texts[k]` is a review, `labels[k]` its class (0 negative, 1 positive, -1 unlabeled)."""

    texts: list
    labels: np.ndarray


def resolve_source(path=None):
    """Where to read IMDB from: `path` (archive or extracted `aclImdb/`), else a local copy
    (`../shared/data/aclImdb_v1.tar.gz`, `data/aclImdb_v1.tar.gz`, `data/aclImdb/`), else "tfds".
    Raises UserError with one sentence when none is possible."""
    raise NotImplementedError


def load_reviews(source, split, limit=None, seed=0):
    """Reviews of `split` in ("train", "test", "unsup") from a resolved source.
    `limit`: at most that many reviews, balanced between the classes, chosen with `seed`."""
    raise NotImplementedError


def split_validation(reviews, fraction=0.1, seed=0):
    """(train, validation): a seeded, stratified, disjoint split of a labeled `Reviews`."""
    raise NotImplementedError


def load_table(path):
    """`Reviews` from a CSV/TSV file of text and label (label: 0/1 or negative/positive)."""
    raise NotImplementedError
