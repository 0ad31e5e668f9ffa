"""Word vectors from unlabeled text, to initialise the Embedding: PPMI + truncated SVD.

Counts how often two tokens occur within `window` tokens of each other (weighted
1/distance), turns the counts into positive pointwise mutual information with the
context distribution smoothed by ^0.75, and keeps the top `dim` singular directions
(Levy, Goldberg & Dagan 2015: on small corpora as good as word2vec, and a few
minutes on a CPU with scipy/scikit-learn rather than hours of SGD).

Used by `--pretrained-embeddings`: fitted on the training reviews plus the 50,000
unlabeled ones (never the test split).
"""

import numpy as np
from scipy import sparse


def cooccurrence(token_rows, vocabulary_size, window=5, chunk=2000):
    """Symmetric co-occurrence counts, weighted 1/distance, as a CSR matrix `(V, V)`.

    Args:
        token_rows: int array `(reviews, time)`, right-padded with 0 (never counted).
        vocabulary_size: V.
        window: the farthest distance counted.
        chunk: reviews per step, to bound memory.
    """
    counts = sparse.csr_matrix((vocabulary_size, vocabulary_size), dtype=np.float64)
    for start in range(0, len(token_rows), chunk):
        rows = np.asarray(token_rows[start : start + chunk])
        a, b, w = [], [], []
        for distance in range(1, window + 1):
            left, right = rows[:, :-distance].ravel(), rows[:, distance:].ravel()
            keep = (left != 0) & (right != 0)
            a.append(left[keep]), b.append(right[keep])
            w.append(np.full(keep.sum(), 1.0 / distance))
        a, b, w = np.concatenate(a), np.concatenate(b), np.concatenate(w)
        block = sparse.coo_matrix((w, (a, b)), shape=(vocabulary_size, vocabulary_size)).tocsr()
        counts = counts + block + block.T
    return counts


def ppmi(counts, alpha=0.75):
    """Positive pointwise mutual information of a co-occurrence matrix, CSR."""
    counts = sparse.coo_matrix(counts)
    total = counts.sum()
    word = np.asarray(counts.sum(axis=1)).ravel()
    context = np.asarray(counts.sum(axis=0)).ravel() ** alpha
    context_p = context / context.sum()
    with np.errstate(divide="ignore"):
        pmi = np.log(counts.data / total) - np.log(word[counts.row] / total) - np.log(context_p[counts.col])
    keep = pmi > 0
    return sparse.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])), shape=counts.shape)


def ppmi_svd_vectors(token_rows, vocabulary_size, dim=128, window=5, seed=0):
    """Word vectors `(V, dim)` float32: rows of `U sqrt(S)` of the PPMI matrix, unit length
    then scaled to the spread of Keras' default Embedding initialiser (uniform ±0.05)."""
    from sklearn.decomposition import TruncatedSVD

    matrix = ppmi(cooccurrence(token_rows, vocabulary_size, window))
    components = min(dim, vocabulary_size - 1)  # a tiny vocabulary has fewer directions
    svd = TruncatedSVD(n_components=components, random_state=seed)
    vectors = svd.fit_transform(matrix) / np.sqrt(np.maximum(svd.singular_values_, 1e-12))  # U sqrt(S)
    vectors = np.pad(vectors, ((0, 0), (0, dim - components)))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return (vectors * 0.05 * np.sqrt(dim / 3)).astype("float32")  # per-coordinate std of U(±0.05)
