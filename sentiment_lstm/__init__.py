"""IMDB sentiment classifier: Embedding -> recurrent layer -> Dense(2, softmax).

The pipeline, one module per step: `data` -> `text` -> `model` -> `training`
-> `evaluation` -> `export` -> `inference`. The scripts `train.py`,
`evaluate.py` and `predict.py` drive it.

Example:

>>> import sentiment_lstm
>>> sentiment_lstm.load("models/imdb_lstm").predict(["What a great film!"])
[{'label': 'positive', 'score': 0.97...}]

Importing the package registers its Keras objects (tokenizer, recurrent and
padding layers), so `keras.saving.load_model("model.keras")` loads a
trained model in safe mode. `load` imports the inference code on first use.
"""
from sentiment_lstm.startup import import_tensorflow

import_tensorflow()  # before Keras loads it: quietly, when TF_CPP_MIN_LOG_LEVEL says so

from sentiment_lstm import layers, model, text  # noqa: E402, F401  register the Keras objects of model.keras

__all__ = ["load"]


def load(model_dir):
    """The `inference.SentimentClassifier` saved in `model_dir` (see `inference.load`)."""
    from sentiment_lstm import inference

    return inference.load(model_dir)
