"""The labeled texts every step after the data takes: one `Dataset` type.

A `Dataset` is a list of texts, each text's class as an index into `class_names`
(`UNLABELED` for a text without one, as the teacher's texts are), and the class names.
The adapters of this package (`imdb.py`, `folders.py`, `tables.py`) build it from the
user's data; training, evaluation and the model directory then read only it. The
classes come from the data: their names sorted (numerically when every name is an
integer, so "2" comes before "10"), an integer label kept as its name.

One label per text: a multi-label data set would make `labels` a `(texts, classes)`
indicator matrix, which nothing here builds yet.

Example:

>>> data = Dataset.from_names(["Great.", "Dull.", "Fine."], ["pos", "neg", "pos"])
>>> data.class_names, data.labels.tolist(), data.counts()
(('neg', 'pos'), [1, 0, 1], {'neg': 1, 'pos': 2})
"""
import math
import re
from dataclasses import dataclass, field

import numpy as np

from sentiment_lstm.core.checks import whole_number
from sentiment_lstm.core.errors import UserError

UNLABELED = -1  # the label of a text without a class
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass
class Dataset:
    """Texts, their classes and the class names.

    Attributes:
        texts: list of `str`, one text each.
        labels: int64 array of the same length: each text's index into `class_names`,
            or `UNLABELED`.
        class_names: the names of the classes, in the order of the model's outputs.
        source: what the texts were read from, for messages and the model card.
    """

    texts: list
    labels: np.ndarray
    class_names: tuple
    source: str = field(default="", compare=False)

    def __post_init__(self):
        self.texts = list(self.texts)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        self.class_names = tuple(str(name) for name in self.class_names)
        if len(self.labels) != len(self.texts):
            raise ValueError(f"`labels` must have one entry per text. Received: {len(self.labels)} labels "
                             f"for {len(self.texts)} texts")
        if len(self.labels) and (self.labels.max(initial=UNLABELED) >= len(self.class_names)
                                 or self.labels.min(initial=0) < UNLABELED):
            raise ValueError(f"`labels` must index `class_names` ({len(self.class_names)} classes) or be "
                             f"{UNLABELED}. Received: labels from {self.labels.min()} to {self.labels.max()}")

    @classmethod
    def from_names(cls, texts, names, source=""):
        """The `Dataset` of `texts` whose classes are `names` (strings, one per text; None
        for a text without a class), the classes being the sorted distinct names."""
        names = [None if name is None else str(name) for name in names]
        class_names = sort_class_names({name for name in names if name is not None})
        index = {name: k for k, name in enumerate(class_names)}
        labels = [UNLABELED if name is None else index[name] for name in names]
        return cls(texts, np.array(labels, dtype=np.int64), class_names, source)

    @classmethod
    def unlabeled(cls, texts, source=""):
        """`texts` without classes (for a teacher or pretrained vectors)."""
        return cls(texts, np.full(len(texts), UNLABELED, np.int64), (), source)

    def __len__(self):
        return len(self.texts)

    @property
    def num_classes(self):
        return len(self.class_names)

    def subset(self, indices):
        """The texts at `indices` (an int array), in that order, as a new `Dataset`."""
        indices = np.asarray(indices, dtype=np.int64)
        return Dataset([self.texts[i] for i in indices], self.labels[indices], self.class_names, self.source)

    def counts(self):
        """`{class name: number of its texts}`, every class, in order."""
        counts = np.bincount(self.labels[self.labels != UNLABELED], minlength=self.num_classes)
        return {name: int(n) for name, n in zip(self.class_names, counts)}

    def describe_counts(self):
        """The class counts in words for a progress line: "12 negative, 13 positive", or
        "150 to 180 a class" for more than 8 classes."""
        counts = self.counts()
        if len(counts) <= 8:
            return ", ".join(f"{n:,} {name}" for name, n in counts.items())
        return f"{min(counts.values()):,} to {max(counts.values()):,} a class"

    def with_classes(self, class_names):
        """The same texts, labelled with indices into `class_names` (a model's classes).

        A name that is one of `class_names` is that class. When none of `class_names` is
        an integer, an integer name k (0 <= k < their number) is class k, so a table of
        0/1 labels scores a model of "negative"/"positive".

        Returns:
            `(dataset, unknown)`: the texts of known classes, and `{name: count}` of the
            classes of `class_names` had none of (in order of the data's classes).
        """
        class_names = tuple(class_names)
        index = {name: k for k, name in enumerate(class_names)}
        by_position = not any(_is_integer(name) for name in class_names)
        mapping, unknown = {}, {}
        for k, name in enumerate(self.class_names):
            if name in index:
                mapping[k] = index[name]
            elif by_position and _is_integer(name) and 0 <= int(name) < len(class_names):
                mapping[k] = int(name)
            else:
                unknown[name] = int(np.sum(self.labels == k))
        known = np.array([label == UNLABELED or label in mapping for label in self.labels], dtype=bool)
        labels = np.array([mapping.get(label, UNLABELED) for label in self.labels[known]], dtype=np.int64)
        kept = Dataset([t for t, keep in zip(self.texts, known) if keep], labels, class_names, self.source)
        return kept, unknown


def sort_class_names(names):
    """`names` sorted: as numbers when every one is an integer ("2" before "10"), else as text."""
    names = list(names)
    if names and all(_is_integer(name) for name in names):
        return tuple(sorted(names, key=lambda name: (int(name), name)))
    return tuple(sorted(names))


def _is_integer(name):
    """Whether `name` is written as a whole number ("7", "-1"; not "1_000" or "7.0")."""
    return _INTEGER.fullmatch(name) is not None


def concatenate(first, second):
    """The texts of `first` then those of `second` (of the same classes, or unlabeled)."""
    if first.class_names and second.class_names and first.class_names != second.class_names:
        raise ValueError(f"Cannot concatenate texts of the classes {first.class_names} and {second.class_names}.")
    return Dataset(first.texts + second.texts, np.concatenate([first.labels, second.labels]),
                   first.class_names or second.class_names, first.source)


def balanced_subset(data, limit, seed=0):
    """At most `limit` texts, as balanced over the classes as they allow, drawn with `seed`,
    in their order; `limit` of the texts when they are unlabeled.

    Every class gets the same share, `limit // classes` when each has that many; a class
    with fewer gives all of its texts, and the others share what it leaves (30 and 50
    texts with `limit` 70: 30 and 40).

    Raises:
        UserError: `limit` is below 1, or below the number of classes.
    """
    of = f" of {data.source}" if data.source else ""
    whole_number(limit, "--limit")
    rng = np.random.default_rng(seed)
    labeled = data.labels != UNLABELED
    if not labeled.any():
        chosen = rng.choice(len(data), size=min(limit, len(data)), replace=False)
        return data.subset(np.sort(chosen))
    present, sizes = np.unique(data.labels[labeled], return_counts=True)
    if limit < len(present):
        raise UserError(f"--limit {limit} is below the {len(present)} classes{of}; give at least one text "
                        "of each class.")
    share, left = limit, limit  # the texts each class larger than `share` gives
    for k, size in enumerate(sorted(sizes)):
        share = left // (len(sizes) - k)
        if size > share:
            break
        left -= size
    chosen = []
    for label, size in zip(present, sizes):
        members = np.flatnonzero(data.labels == label)
        chosen.append(rng.choice(members, size=min(share, size), replace=False))
    return data.subset(np.sort(np.concatenate(chosen)))


def split_validation(data, fraction=0.1, seed=0):
    """A seeded, stratified, disjoint (train, validation) split of labeled texts.

    Args:
        data: a labeled `Dataset` (no `UNLABELED` texts).
        fraction: share of the texts that go to validation, in (0, 1).
        seed: seed of the split; the same seed gives the same split.

    Returns:
        `(train, validation)`, two `Dataset`s keeping the original order and class ratio.

    Raises:
        UserError: bad fraction, unlabeled texts, a class with fewer than 2 texts, or a
            validation split too small to hold every class.
    """
    from sklearn.model_selection import train_test_split  # 0.5 s to import: not for a command's --help

    of = f" of {data.source}" if data.source else ""
    if not 0 < fraction < 1:
        raise UserError(f"The validation fraction must be between 0 and 1, got {fraction}.")
    if np.any(data.labels == UNLABELED):
        raise UserError(f"Only labeled texts can be split into training and validation sets, but some{of} "
                        "have no class.")
    counts = data.counts()
    rare = [name for name, n in counts.items() if n == 1]
    if rare:
        raise UserError(f"The class {rare[0]!r}{of} has only one text, too few to split off a validation set "
                        "that holds it; add texts of it, or give --val-data.")
    try:
        train, validation = train_test_split(
            np.arange(len(data)), test_size=fraction, stratify=data.labels, random_state=seed)
    except ValueError as exc:
        present = sum(1 for n in counts.values() if n)
        size = math.ceil(fraction * len(data))
        raise UserError(f"A stratified validation split of {size} of the {len(data)} texts{of} cannot hold a text "
                        f"of each of their {present} classes; use more texts or a larger --val-fraction.") from exc
    return data.subset(np.sort(train)), data.subset(np.sort(validation))
