"""The teacher's unigram and bigram indicators (bag_of_ngrams.py): the matrix of
scikit-learn's CountVectorizer with the same tokens, column for column."""
import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from sentiment_lstm.training.bag_of_ngrams import TOKENS, BagOfNgrams, preprocess

# Words that are prefixes of others ("a", "ab", "a b"), apostrophes, ! and ?, HTML,
# accents, digits, a one-word text, an empty one and repeated n-grams.
FITTED = ["A b ab a! <br />ab c", "don't stop, don't! really?", "Über naïve café 2 2 2", "", "word",
          "b a b a", "ab a b? c'est la vie"]
NEW = ["a b unknown ab", "", "unknown words only", "café naïve über", "b a b a b a", "c'est! la"]


def sklearn_vectorizer():
    return CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=TOKENS, preprocessor=preprocess)


def test_fit_transform_is_countvectorizers_matrix():
    ours, theirs = BagOfNgrams(), sklearn_vectorizer()
    x, expected = ours.fit_transform(FITTED), theirs.fit_transform(FITTED)
    assert ours.get_feature_names_out().tolist() == theirs.get_feature_names_out().tolist()
    assert x.shape == expected.shape and x.dtype == expected.dtype
    np.testing.assert_array_equal(x.toarray(), expected.toarray())


def test_transform_is_countvectorizers_and_drops_unseen_ngrams():
    ours, theirs = BagOfNgrams(), sklearn_vectorizer()
    ours.fit_transform(FITTED)
    theirs.fit(FITTED)
    x = ours.transform(NEW)
    np.testing.assert_array_equal(x.toarray(), theirs.transform(NEW).toarray())
    assert x[2].nnz == 0 and x[1].nnz == 0  # no known word, no text


def test_random_texts_match_countvectorizer():
    rng = np.random.default_rng(0)
    vocabulary = ["a", "ab", "abc", "b", "ba", "it's", "!", "?", "z9", "é"]
    texts = [" ".join(rng.choice(vocabulary, rng.integers(0, 12))) for _ in range(200)]
    ours, theirs = BagOfNgrams(), sklearn_vectorizer()
    np.testing.assert_array_equal(ours.fit_transform(texts[:150]).toarray(),
                                  theirs.fit_transform(texts[:150]).toarray())
    np.testing.assert_array_equal(ours.transform(texts[150:]).toarray(), theirs.transform(texts[150:]).toarray())


def test_texts_without_words_are_refused():
    with pytest.raises(ValueError, match="empty vocabulary"):
        BagOfNgrams().fit_transform(["", "<br />", "..."])
