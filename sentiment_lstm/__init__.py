"""IMDB sentiment classifier: Embedding -> recurrent layer -> Dense(2, softmax).

The recurrent engine, the seed's equations as Keras layers, is `sentiment_lstm.rnn`.
The application is one module per step of the pipeline: `data` -> `text` -> `model`
-> `training` -> `evaluation` -> `export` -> `inference`; `cli` is the
`sentiment-lstm` command, which `train.py`, `evaluate.py` and `predict.py` also run.

Example:

>>> import sentiment_lstm
>>> sentiment_lstm.load("models/imdb_lstm").predict(["What a great film!"])
[{'label': 'positive', 'score': 0.97..., 'known_words': 5}]

Importing the package is cheap: it loads neither TensorFlow nor Keras. `load` does,
on first use. To load `model.keras` with `keras.saving.load_model` directly, import
`sentiment_lstm.model` first: it registers the project's Keras objects.
"""
__version__ = "1.0.0"
__all__ = ["load", "__version__"]


def load(model_dir):
    """The `classify.SentimentClassifier` saved in `model_dir` (see `classify.load`)."""
    from sentiment_lstm.core import startup

    startup.import_tensorflow()  # quietly, when TF_CPP_MIN_LOG_LEVEL asks for quiet
    from sentiment_lstm.inference import classify

    return classify.load(model_dir)
