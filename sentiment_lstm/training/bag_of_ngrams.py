"""Binary unigram and bigram indicators of texts, the features of the NB-LR teacher.

`BagOfNgrams` gives the same matrix as scikit-learn's
`CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=TOKENS, preprocessor=preprocess)`,
column for column (tests/test_bag_of_ngrams.py), in less than half the time: the texts
are tokenized by the same regular expression, but the bigrams are counted as pairs
of word numbers sorted by NumPy rather than as joined strings in a Python dict
(16.7 s -> 7.1 s on IMDB's 22,500 training reviews, medians of 3 rounds, docs/results.md,
"The teacher's features and where it runs").

Columns are in the order of the n-grams' strings, as CountVectorizer's: with words
numbered in sorted order, the bigrams "a x" sort right after the word "a", in the order
of x, and before any longer word that starts with "a" (a space sorts before every
character a token holds), so sorting the pairs `(a, x)` by number and putting each
word before its pairs gives the order of the strings.
"""
import itertools
import re

import numpy as np
from scipy import sparse

# Words with inner apostrophes, and ! and ? as tokens of their own, as tokenizer.standardize keeps them.
TOKENS = r"(?u)\b\w[\w']*\b|[!?]"
_TOKEN = re.compile(TOKENS)
_HTML_TAG = re.compile(r"<[^>]+>")


def preprocess(text):
    """A review as the n-gram models read it: HTML tags turned into spaces, lowercased."""
    return _HTML_TAG.sub(" ", text).lower()


class BagOfNgrams:
    """Which words and bigrams (adjacent word pairs) each text holds, as a sparse 0/1 matrix.

    Example:

    >>> bag = BagOfNgrams()
    >>> bag.fit_transform(["Good film", "bad film"]).toarray()
    array([[0, 0, 1, 1, 1],
           [1, 1, 1, 0, 0]])
    >>> bag.get_feature_names_out().tolist()
    ['bad', 'bad film', 'film', 'good', 'good film']
    """

    def fit_transform(self, texts):
        """Learn the n-grams of `texts` and return their indicators, `(len(texts), n-grams)` int64 CSR."""
        words, lengths = _tokens(texts)
        if not words:
            raise ValueError("empty vocabulary: the texts hold no words")
        self.words = sorted(dict.fromkeys(words))
        self._number = {word: i for i, word in enumerate(self.words)}
        ids = np.fromiter(map(self._number.__getitem__, words), dtype=np.int64, count=len(words))
        pairs, rows = self._pairs(ids, lengths)
        self.pairs, rank = _sorted_unique(pairs)  # each pair's rank among the distinct ones
        first = self.pairs // len(self.words)
        self._word_column = np.arange(len(self.words)) + np.searchsorted(first, np.arange(len(self.words)))
        self._pair_column = np.arange(len(self.pairs)) + first + 1
        return self._matrix(len(lengths), ids, lengths, self._pair_column[rank], rows)

    def transform(self, texts):
        """The indicators of `texts` for the n-grams learned by `fit_transform`; others are left out."""
        words, lengths = _tokens(texts)
        ids = np.fromiter(map(self._number.get, words, itertools.repeat(-1)), dtype=np.int64, count=len(words))
        pairs, rows = self._pairs(ids, lengths, known=ids >= 0)
        where = np.minimum(np.searchsorted(self.pairs, pairs), max(len(self.pairs) - 1, 0))
        found = self.pairs[where] == pairs if len(self.pairs) else np.zeros(len(pairs), bool)
        word_rows = np.repeat(np.arange(len(lengths)), lengths)[ids >= 0]
        return self._matrix(len(lengths), ids[ids >= 0], None, self._pair_column[where[found]], rows[found],
                            word_rows=word_rows)

    def get_feature_names_out(self):
        """The n-grams of the columns, in order: words, and bigrams as "a b"."""
        names = np.empty(len(self.words) + len(self.pairs), dtype=object)
        names[self._word_column] = self.words
        first, second = np.divmod(self.pairs, len(self.words))
        names[self._pair_column] = [f"{self.words[a]} {self.words[b]}" for a, b in zip(first, second)]
        return names

    def _pairs(self, ids, lengths, known=None):
        """The codes `a * words + b` of each text's adjacent word pairs (both words `known`),
        and the row of each."""
        follows = np.ones(len(ids), bool)  # the word at i + 1 is of the same text
        follows[np.cumsum(lengths)[lengths > 0] - 1] = False
        follows = follows[:-1]
        if known is not None:
            follows &= known[:-1] & known[1:]
        rows = np.repeat(np.arange(len(lengths)), lengths)[:-1][follows]
        return (ids[:-1] * len(self.words) + ids[1:])[follows], rows

    def _matrix(self, n_texts, ids, lengths, pair_columns, pair_rows, word_rows=None):
        """The 0/1 CSR matrix with a 1 at each (row, column) named, columns sorted in each row
        (scipy sums the repeated ones, then each becomes a 1)."""
        if word_rows is None:
            word_rows = np.repeat(np.arange(n_texts), lengths)
        rows = np.concatenate([word_rows, pair_rows])
        columns = np.concatenate([self._word_column[ids], pair_columns])
        width = len(self.words) + len(self.pairs)
        index = np.int32 if max(width, len(rows)) < np.iinfo(np.int32).max else np.int64
        matrix = sparse.csr_matrix((np.ones(len(rows), np.int64), (rows.astype(index), columns.astype(index))),
                                   shape=(n_texts, width))
        matrix.sum_duplicates()
        matrix.data[:] = 1
        return matrix


def _tokens(texts):
    """All the tokens of `texts` in one list, and how many each text has."""
    per_text = [_TOKEN.findall(preprocess(text)) for text in texts]
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
    return list(itertools.chain.from_iterable(per_text)), lengths


def _sorted_unique(values):
    """The distinct `values` in order, and the position of each value among them: what
    `np.unique(values, return_inverse=True)` gives, which NumPy 2.4 takes 8 s for on
    6 million numbers here against 1.5 s for this."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.empty(len(ordered), bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    rank = np.empty(len(values), np.int64)
    rank[order] = np.cumsum(new) - 1
    return ordered[new], rank
