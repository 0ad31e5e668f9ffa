"""Step 3 of the pipeline: the classifier, token ids (or raw strings) in, class
probabilities out; its pooling, n-gram vectors and optimizer.

Importing this package registers the project's Keras objects, so `model.keras` loads
with `keras.saving.load_model` once it is imported.
"""
from sentiment_lstm.model import network, ngrams, pooling  # noqa: F401 (register the Keras objects)
