"""The model card of a model directory, `MODEL_CARD.md`, written from its files.

The sections of Mitchell et al. (2019) and Hugging Face's model cards: model
details, intended and out-of-scope use, training data, training procedure (with the
recipe), evaluation data and metrics, limitations, and how to load the model. Every
figure comes from `config.json` and, once `evaluate` has run, its metrics; nothing is
written by hand. Training writes it; evaluation writes it again with its metrics: those
of the full test split (`metrics.json`) once there are some, else the latest
evaluation's, saying what it was on.
"""
import json
from pathlib import Path

from sentiment_lstm.core.files import atomic_file
from sentiment_lstm.core.layout import CARD_FILE, CONFIG_FILE

CELL_NAMES = {"lstm": "LSTM (sentiment_lstm.rnn.LSTM)", "gru": "GRU (sentiment_lstm.rnn.GRU)",
              "rnn": "simple RNN (sentiment_lstm.rnn.SimpleRNN)", "keras-lstm": "Keras' keras.layers.LSTM"}


def render(saved, metrics=None, model_dir="DIR", evaluated_on="the IMDB test split"):
    """The card's Markdown from `saved` (the parsed `config.json`) and `metrics` (an
    evaluation's metrics, of `evaluated_on`; None before evaluation)."""
    h = saved["hyperparameters"]
    versions = ", ".join(f"{k} {v}" for k, v in saved.get("versions", {}).items())
    serve = "the whole review" if h.get("serve_max_length") == 0 else (
        f"its first {h['serve_max_length'] or h['max_length']} tokens")
    recipe = f"`{h['recipe']}`" if h.get("recipe") else "none (flags only)"
    extras = [text for flag, text in (
        (h.get("bigram_dim"), f"learned {h.get('bigram_dim')}-d bigram vectors"),
        (h.get("trigram_dim"), f"learned {h.get('trigram_dim')}-d trigram vectors"),
        (h.get("pretrained_embeddings"), "PPMI-SVD pretrained word vectors"),
        (h.get("teacher") not in (None, "none"), f"soft targets from an {h.get('teacher')} teacher on the 50,000 unlabeled reviews"),
        (h.get("bidirectional"), "bidirectional"),
    ) if flag]
    lines = [
        f"# Model card: {h.get('name') or Path(model_dir).name}",
        "",
        "## Model details",
        f"- A binary sentiment classifier of English movie reviews: Embedding ({h['embed_dim']}-d, "
        f"{saved.get('vocabulary_size', h['max_tokens'])} tokens) → {h['layers']} × {CELL_NAMES.get(h['cell'], h['cell'])}, "
        f"{h['units']} units → Dense(2, softmax).",
        f"- Also: {', '.join(extras)}." if extras else "- No n-gram vectors, pretrained vectors or teacher.",
        f"- Labels: {', '.join(saved.get('labels', []))}. Output: the probability of each.",
        f"- Trained with sentiment-lstm ({versions}).",
        "- License: Apache-2.0.",
        "",
        "## Intended use",
        "- Scoring the sentiment of English movie reviews of the kind IMDB users write, one review at a time or in batches.",
        "- A small, fast, inspectable LSTM baseline for research and teaching (`sentiment-lstm explain`).",
        "",
        "## Out-of-scope use",
        "- Text other than English movie reviews (other languages, other domains, short messages): it was not trained on them and its scores there are not calibrated.",
        "- Decisions about people, or any use where an error harms someone: it misclassifies a share of reviews (below).",
        "",
        "## Training data",
        f"- The IMDB Large Movie Review Dataset (Maas et al. 2011), `train/`: "
        f"{'all' if not h.get('limit') else str(h['limit']) + ' of'} its 25,000 labeled reviews, "
        + (f"{h['val_fraction']:.0%} of them held out for validation (seed {h['seed']})."
           if h.get("val_fraction") else "all of them used for training (a refit without validation)."),
        "- " + ("Also the 50,000 unlabeled reviews of `train/unsup/`." if h.get("teacher") not in (None, "none")
                or h.get("pretrained_embeddings") else "The unlabeled reviews are not used."),
        f"- The vocabulary ({h['max_tokens']} tokens) was built from the training reviews only. The test split was never read in training.",
        "",
        "## Training procedure",
        f"- Recipe: {recipe}. Reproduce with `sentiment-lstm train "
        + (f"--recipe {h['recipe']}`" if h.get("recipe") else "` and the hyperparameters below")
        + " (the hyperparameters are in `config.json`).",
        f"- Adam at {h['learning_rate']:g} ({h.get('lr_schedule', 'constant')} schedule), batches of {h['batch_size']}, "
        f"at most {h['epochs']} epoch{'s' if h['epochs'] != 1 else ''}" + (f", early stopping on validation loss (patience {h['patience']})."
                                            if h.get("val_fraction") else "."),
        f"- Dropout: embedding {h['embedding_dropout']:g}, recurrent input {h['dropout']:g}, "
        f"recurrent state {h['recurrent_dropout']:g}, before the softmax {h['dense_dropout']:g}.",
        f"- Reads the first {h['max_length']} tokens of each review in training and {serve} when it serves.",
        "",
        "## Evaluation data and metrics",
    ]
    if metrics:
        auc = "–" if metrics.get("roc_auc") is None else f"{metrics['roc_auc']:.4f}"
        lines += [
            f"On {evaluated_on} ({metrics['n']:,} reviews, none seen in training), by `sentiment-lstm evaluate`:",
            "",
            "| accuracy | precision | recall | F1 | ROC AUC |",
            "|---:|---:|---:|---:|---:|",
            f"| {metrics['accuracy']:.2%} | {metrics['precision']:.4f} | {metrics['recall']:.4f} | {metrics['f1']:.4f} | {auc} |",
            "",
            f"Precision, recall and F1 are the positive class's. Confusion matrix (rows: true negative, positive): "
            f"`{metrics['confusion_matrix']}`.",
        ]
        if metrics.get("roc_auc") is None and metrics.get("roc_auc_reason"):
            lines += ["", f"No ROC AUC: {metrics['roc_auc_reason']}."]
    else:
        lines.append(f"Not evaluated yet: `sentiment-lstm evaluate --model-dir {model_dir}` fills this section in.")
    lines += [
        "",
        "## Limitations",
        "- English only, movie reviews only; HTML tags are stripped, emoji and symbols ignored.",
        f"- It reads {serve}: text past that does not count.",
        "- A review with no word of its vocabulary gets a prediction near 0.5: no evidence either way.",
        "- Sarcasm, mixed reviews and plot summaries that describe bad events in good films are its usual errors.",
        "",
        "## How to load it",
        "```python",
        "import sentiment_lstm",
        f"classifier = sentiment_lstm.load({str(model_dir)!r})",
        'classifier.predict(["A wonderful film."])   # [{"label": "positive", "score": ...}]',
        "```",
        f"Or without the project: `tf.saved_model.load({str(Path(model_dir) / 'saved_model')!r}).serve(tf.constant([...]))`.",
        "",
    ]
    return "\n".join(lines)


def write(directory, metrics=None, name=None, evaluated_on="the IMDB test split"):
    """(Re)write `directory/MODEL_CARD.md` from its `config.json` and `metrics`."""
    directory = Path(directory)
    saved = json.loads((directory / CONFIG_FILE).read_text())
    with atomic_file(directory / CARD_FILE) as tmp:
        tmp.write_text(render(saved, metrics, name or directory, evaluated_on))
