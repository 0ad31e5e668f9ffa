"""Short crops of long texts: a sentence, two, or a phrase of a few words, so that a
model trained on reviews of ~230 words also learns to read what people type into a
demo page — a sentence (`--crops`).

A crop is, with even odds, one or two consecutive sentences of the text (split after
`.`, `!`, `?` and at line breaks, HTML's `<br />` included), or all of them; if that
is longer than `MOST_WORDS` words, a window of `MIN_WORDS` to `MOST_WORDS` consecutive
words of it. Its target is the class probabilities of a teacher fitted on whole texts
where there is one (a crop of a positive review can be neutral, or negative: "the
first hour is dull"), else its text's label.

Example:

>>> sentences("Dull start. Then superb!<br /><br />See it.")
['Dull start.', 'Then superb!', 'See it.']
"""
import re

import numpy as np

MIN_WORDS = 2  # the shortest window of words
MOST_WORDS = 30  # the longest crop, in words (customer-review sentences: median 15)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*<br\s*/?>\s*|\n+")


def sentences(text):
    """The sentences of `text`, in order, stripped, empty ones left out."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def crop(text, rng, parts=None):
    """One short crop of `text` (the module's text), drawn with the NumPy Generator `rng`
    (`parts`: `sentences(text)`, if the caller has them already)."""
    parts = sentences(text) if parts is None else parts
    if parts and rng.random() < 0.5:
        start = int(rng.integers(len(parts)))
        piece = " ".join(parts[start:start + 1 + int(rng.random() < 0.3)])
    else:
        piece = " ".join(parts)  # the whole text, its line breaks (HTML's too) as spaces
    words = piece.split()
    if len(words) > MOST_WORDS:
        n = int(rng.integers(MIN_WORDS, MOST_WORDS + 1))
        start = int(rng.integers(len(words) - n + 1))
        words = words[start:start + n]
    return " ".join(words)


def crops(texts, per_text, seed):
    """`(crops, sources)`: up to `per_text` crops of each of `texts`, and for each crop the
    index of its text (int64), in the order of `texts`; the same for the same `seed`. A
    crop that is its whole text (a short text) is left out: the text is there already."""
    rng = np.random.default_rng(seed)
    kept, origin = [], []
    for k, text in enumerate(texts):
        parts, whole = sentences(text), " ".join(text.split())
        for _ in range(per_text):
            piece = crop(text, rng, parts)
            if piece and piece != whole:
                kept.append(piece)
                origin.append(k)
    return kept, np.array(origin, dtype=np.int64)
