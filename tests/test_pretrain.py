"""PPMI-SVD word vectors: exact counts and PMI on hand examples, meaningful vectors,
and training that starts from them."""

import json

import numpy as np

from sentiment_lstm.training import pretrain
from tests.script_runner import run_script


def test_cooccurrence_counts_are_weighted_by_distance_and_symmetric():
    tokens = np.array([[1, 2, 3, 0], [2, 2, 0, 0]])
    counts = pretrain.cooccurrence(tokens, vocabulary_size=4, window=2).toarray()
    expected = np.zeros((4, 4))
    for a, b, w in [(1, 2, 1.0), (2, 3, 1.0), (1, 3, 0.5), (2, 2, 1.0)]:  # padding (0) never counts
        expected[a, b] += w
        expected[b, a] += w
    np.testing.assert_allclose(counts, expected)


def test_ppmi_matches_its_formula():
    counts = np.array([[0, 4, 1], [4, 0, 2], [1, 2, 6]], float)
    total, word, context = counts.sum(), counts.sum(1), counts.sum(0) ** 0.75
    with np.errstate(divide="ignore"):
        pmi = np.log(counts * total / (word[:, None] * (context / context.sum())[None, :] * total))
    expected = np.where(counts > 0, np.maximum(pmi, 0), 0)
    np.testing.assert_allclose(pretrain.ppmi(counts).toarray(), expected, atol=1e-12)


def test_words_with_the_same_contexts_get_the_same_direction():
    rng = np.random.default_rng(0)
    # Words 2 and 3 both appear between 4|5 and 6|7; words 8 and 9 between 10 and 11.
    rows = [[rng.choice([4, 5]), rng.choice([2, 3]), rng.choice([6, 7])] for _ in range(300)]
    rows += [[10, rng.choice([8, 9]), 11] for _ in range(300)]
    vectors = pretrain.ppmi_svd_vectors(np.array(rows), vocabulary_size=12, dim=4, window=1)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    assert vectors.shape == (12, 4) and vectors.dtype == np.float32
    assert unit[2] @ unit[3] > 0.99 and unit[8] @ unit[9] > 0.99
    assert abs(unit[2] @ unit[8]) < 0.5
    np.testing.assert_array_equal(vectors[0], np.zeros(4))  # padding never occurs


def test_more_dimensions_than_the_vocabulary_allows_are_zero():
    vectors = pretrain.ppmi_svd_vectors(np.array([[1, 2, 3, 1, 2]]), vocabulary_size=4, dim=8, window=2)
    assert vectors.shape == (4, 8)
    np.testing.assert_array_equal(vectors[:, 3:], 0)


def test_train_with_pretrained_embeddings(imdb_archive, tmp_path):
    model_dir = tmp_path / "m"
    result = run_script("train.py", "--recipe", "plain", "--data", str(imdb_archive), "--epochs", "1", "--units", "4",
                        "--embed-dim", "4", "--val-fraction", "0.5", "--pretrained-embeddings",
                        "--model-dir", str(model_dir))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    saved = json.loads((model_dir / "config.json").read_text())
    assert saved["hyperparameters"]["pretrained_embeddings"] is True
