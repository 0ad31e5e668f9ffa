"""Soft labels for the unlabeled reviews from an n-gram teacher (`--teacher nb-lr`).

Knowledge distillation (Hinton, Vinyals & Dean 2015) as semi-supervised learning:
a teacher fitted on the labeled training reviews gives each of the 50,000 unlabeled
reviews its class probabilities, and the LSTM trains on both, the labeled reviews
with their one-hot labels and the unlabeled ones with the teacher's probabilities as
soft targets of the same categorical cross-entropy. The trained model is the LSTM
alone; the teacher is not part of it and is not saved.

The teacher is NB-LR (Wang & Manning 2012, "Baselines and Bigrams"): binary unigram
and bigram indicators scaled by their naive Bayes log-count ratios
`r = log((p / |p|_1) / (q / |q|_1))`, `p = 1 + sum of the positive reviews' indicators`
(`q` the negative ones'), then scikit-learn's logistic regression. It is the
strongest quick model of this data that we know of (91.76% on our validation split
and 91.45% on test, `benchmarks/results/imdb.json`; fitted in about 15 s on 2 cores), and
it errs differently from an LSTM, which is what a teacher needs.
"""
import re

import numpy as np
from scipy import special

# Words with inner apostrophes, and ! and ? as tokens of their own, as text.standardize keeps them.
TOKENS = r"(?u)\b\w[\w']*\b|[!?]"
_HTML_TAG = re.compile(r"<[^>]+>")


def preprocess(text):
    """A review as the n-gram models read it: HTML tags turned into spaces, lowercased."""
    return _HTML_TAG.sub(" ", text).lower()


class NBLR:
    """NB-LR fitted on labeled reviews; `log_odds(texts)` scores new ones.

    Args:
        texts: training reviews.
        labels: their classes, 0 negative or 1 positive (both present).
        C: inverse L2 strength of the logistic regression.
        ngrams: the longest n-gram counted (2: unigrams and bigrams).

    Example:

    >>> teacher = NBLR(["good fun", "good film", "bad film", "bad plot"], [1, 1, 0, 0])
    >>> bool(teacher.log_odds(["good"])[0] > 0 > teacher.log_odds(["bad"])[0])
    True
    """

    def __init__(self, texts, labels, C=1.0, ngrams=2):
        from scipy import sparse
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = CountVectorizer(ngram_range=(1, ngrams), binary=True, token_pattern=TOKENS,
                                          preprocessor=preprocess)
        X = self.vectorizer.fit_transform(texts)
        y = np.asarray(labels)
        self.ratios = log_count_ratios(np.asarray(X[y == 1].sum(0)).ravel(), np.asarray(X[y == 0].sum(0)).ravel())
        self._scale = sparse.diags(self.ratios)
        self.classifier = LogisticRegression(C=C, max_iter=3000).fit(X @ self._scale, y)

    def log_odds(self, texts):
        """log P(positive) / P(negative) of each review, float64 `(len(texts),)`."""
        return self.classifier.decision_function(self.vectorizer.transform(texts) @ self._scale)


def log_count_ratios(positive, negative):
    """Naive Bayes log-count ratios r = log((p / |p|_1) / (q / |q|_1)) of features counted
    `positive` and `negative` times in the two classes, p = 1 + positive, q = 1 + negative.

    Example:

    >>> log_count_ratios(np.array([1, 0]), np.array([0, 1]))  # p = [2, 1], q = [1, 2]
    array([ 0.69314718, -0.69314718])
    """
    p, q = 1 + np.asarray(positive), 1 + np.asarray(negative)
    return np.log((p / p.sum()) / (q / q.sum()))


def soft_targets(log_odds):
    """Class probabilities `(n, 2)` float32, in the order of `data.LABELS`, from log-odds."""
    positive = special.expit(np.asarray(log_odds, dtype=np.float64))
    return np.stack([1 - positive, positive], axis=1).astype(np.float32)
