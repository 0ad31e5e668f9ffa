"""Text classifier of any labeled texts, IMDB sentiment by default: Embedding -> recurrent layer -> Dense(classes, softmax).

The recurrent engine, the seed's equations as Keras layers, is `sentiment_lstm.rnn`.
The application is one folder per step of the pipeline: `data` -> `text` -> `model`
-> `training` -> `evaluation` -> `export` -> `inference`, then `explain` and
`server`; `core` is what they share without TensorFlow, and `cli` (with `commands`)
is the `sentiment-lstm` command, which `train.py`, `evaluate.py` and `predict.py` also run.

Example:

>>> import sentiment_lstm
>>> sentiment_lstm.load("models/imdb_lstm").predict(["What a great film!"])
[{'label': 'positive', 'score': 0.97..., 'scores': {'negative': 0.02..., 'positive': 0.97...}, 'known_words': 5}]

Importing the package is cheap: it loads neither TensorFlow nor Keras (so `load`
imports them inside, on first use). To load `model.keras` with `keras.saving.load_model` directly, import
`sentiment_lstm.model` first: it registers the project's Keras objects.
"""
__version__ = "1.0.0"
__all__ = ["load", "__version__"]


def load(model_dir):
    """The `classify.Classifier` saved in `model_dir` (see `classify.load`)."""
    from sentiment_lstm.core import startup

    startup.import_tensorflow()  # quietly, when TF_CPP_MIN_LOG_LEVEL asks for quiet
    from sentiment_lstm.inference import classify

    return classify.load(model_dir)
