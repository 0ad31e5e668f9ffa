"""Soft labels for unlabeled texts from an n-gram teacher (`--teacher nb-lr`).

Knowledge distillation (Hinton, Vinyals & Dean 2015) as semi-supervised learning:
a teacher fitted on the labeled training texts gives each unlabeled text (IMDB's
50,000 unlabeled reviews, or `--unlabeled`) its class probabilities, and the LSTM
trains on both, the labeled texts with their one-hot labels and the unlabeled ones
with the teacher's probabilities as soft targets of the same categorical
cross-entropy. The trained model is the LSTM alone; the teacher is not part of it and
is not saved.

The teacher is NB-LR (Wang & Manning 2012, "Baselines and Bigrams"): binary unigram
and bigram indicators scaled by their naive Bayes log-count ratios
`r = log((p / |p|_1) / (q / |q|_1))`, `p = 1 + sum of the positive reviews' indicators`
(`q` the negative ones'), then scikit-learn's logistic regression. It is the
strongest quick model of this data that we know of (91.76% on our validation split
and 91.45% on test, `benchmarks/results/imdb.json`; fitted on IMDB's 22,500 training
reviews in about 11 s on 2 cores, 7 of them its features: `bag_of_ngrams.py`), and it
errs differently from an LSTM, which is what a teacher needs.
"""
import numpy as np
from scipy import special

from sentiment_lstm.training.bag_of_ngrams import BagOfNgrams


class NBLR:
    """NB-LR fitted on labeled texts; `predict_proba(texts)` gives new ones their class
    probabilities.

    With two classes it is Wang & Manning's: one logistic regression on the indicators
    scaled by the log-count ratios of class 1 against class 0, `log_odds` its decision
    function. With more, one-vs-rest: for each class k, the ratios of k against the
    other classes and a logistic regression of "k or not" on the indicators scaled by
    them; the N probabilities of "k" are then normalised to sum to 1, as scikit-learn's
    one-vs-rest does (docs/experiments.md: it teaches better than one multinomial
    regression on NB-scaled indicators).

    Args:
        texts: training texts.
        labels: their classes, indices from 0 (every one of `num_classes` present).
        num_classes: the number of classes (default: the largest label + 1).
        C: inverse L2 strength of the logistic regressions.

    Example:

    >>> teacher = NBLR(["good fun", "good film", "bad film", "bad plot"], [1, 1, 0, 0])
    >>> bool(teacher.log_odds(["good"])[0] > 0 > teacher.log_odds(["bad"])[0])
    True
    """

    def __init__(self, texts, labels, num_classes=None, C=1.0):
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(labels)
        self.num_classes = int(y.max()) + 1 if num_classes is None else num_classes
        self.vectorizer = BagOfNgrams()  # unigram and bigram indicators
        X = self.vectorizer.fit_transform(texts)
        tasks = [1] if self.num_classes == 2 else range(self.num_classes)  # the class each regression tells
        self.ratios, self._scales, self.classifiers = [], [], []
        for k in tasks:
            members = y == k
            ratios = log_count_ratios(np.asarray(X[members].sum(0)).ravel(), np.asarray(X[~members].sum(0)).ravel())
            self.ratios.append(ratios)
            self._scales.append(sparse.diags(ratios))
            self.classifiers.append(LogisticRegression(C=C, max_iter=3000).fit(X @ self._scales[-1], members))

    def log_odds(self, texts):
        """The decision function of each class's regression, float64: `(len(texts),)` with two
        classes (log P(class 1) / P(class 0)), else `(len(texts), classes)`."""
        X = self.vectorizer.transform(texts)
        scores = [classifier.decision_function(X @ scale) for classifier, scale in zip(self.classifiers, self._scales)]
        return scores[0] if self.num_classes == 2 else np.stack(scores, axis=1)

    def predict_proba(self, texts):
        """Class probabilities `(len(texts), classes)` float32, in the order of the labels."""
        if self.num_classes == 2:
            return soft_targets(self.log_odds(texts))
        each = special.expit(self.log_odds(texts))  # P(class k) of regression k
        return (each / each.sum(axis=1, keepdims=True)).astype(np.float32)


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
    """Class probabilities `(n, 2)` float32 of two classes, from the log-odds of class 1."""
    positive = special.expit(np.asarray(log_odds, dtype=np.float64))
    return np.stack([1 - positive, positive], axis=1).astype(np.float32)


def taught_targets(texts, labels, num_classes, new_texts):
    """The class probabilities `(len(new_texts), classes)` float32 that NB-LR fitted on the
    labeled `texts` gives `new_texts`: what training asks of the teacher, in one call
    that another process can run (`core.background`)."""
    return NBLR(texts, labels, num_classes).predict_proba(new_texts)
