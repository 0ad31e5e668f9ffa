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
              "rnn": "simple RNN (sentiment_lstm.rnn.SimpleRNN)", "keras-lstm": "Keras' keras.layers.LSTM",
              "transformer": "Transformer encoder block (sentiment_lstm.model.transformer.EncoderBlock)"}


def render(saved, metrics=None, model_dir="DIR", evaluated_on="the test split"):
    """The card's Markdown from `saved` (the parsed `config.json`) and `metrics` (an
    evaluation's metrics, of `evaluated_on`; None before evaluation)."""
    h = saved["hyperparameters"]
    labels = saved.get("labels", [])
    data = saved.get("data") or {}
    counts = data.get("classes") or {}
    versions = ", ".join(f"{k} {v}" for k, v in saved.get("versions", {}).items())
    serve = "the whole text" if h.get("serve_max_length") == 0 else (
        f"its first {h['serve_max_length'] or h['max_length']} tokens")
    recipe = f"`{h['recipe']}`" if h.get("recipe") else "none (flags only)"
    unlabeled = data.get("unlabeled")
    taught = h.get("teacher") not in (None, "none")
    extras = [text for flag, text in (
        (h.get("bigram_dim"), f"learned {h.get('bigram_dim')}-d bigram vectors"),
        (h.get("trigram_dim"), f"learned {h.get('trigram_dim')}-d trigram vectors"),
        (h.get("pretrained_embeddings"), "PPMI-SVD pretrained word vectors"),
        (taught and (unlabeled or not data), f"soft targets from an {h.get('teacher')} teacher on "
                               f"{_count((unlabeled or {}).get('texts'))} unlabeled texts"),
        (h.get("crops"), f"{_count(data.get('crops'))} short crops of the texts (sentences and phrases), "
                         + (f"targeted by the {h.get('teacher')} teacher" if taught else "labelled as their texts")),
        (h.get("class_weight") not in (None, "none"), f"{h.get('class_weight')} class weights"),
        (h.get("bidirectional"), "bidirectional"),
    ) if flag]
    source = data.get("source") or "the data it was trained on"
    validation = data.get("validation")
    lines = [
        f"# Model card: {h.get('name') or Path(model_dir).name}",
        "",
        "## Model details",
        f"- A text classifier of {len(labels)} classes: Embedding ({h['embed_dim']}-d, "
        f"{saved.get('vocabulary_size', h['max_tokens'])} tokens) → {h['layers']} × {CELL_NAMES.get(h['cell'], h['cell'])}, "
        + (f"{h.get('heads')} heads, a feed-forward layer of {h['units']} units" if h['cell'] == "transformer"
           else f"{h['units']} units")
        + (f", {h['pooling']} pooling" if h.get("pooling", "last") != "last" else "")
        + f" → Dense({len(labels)}, softmax)"
        + (f"; {saved['parameters']:,} trained parameters." if saved.get("parameters") else "."),
        f"- Also: {', '.join(extras)}." if extras else "- No n-gram vectors, pretrained vectors, teacher or class weights.",
        f"- Classes: {', '.join(labels)}. Output: the probability of each, in that order.",
        f"- Trained with sentiment-lstm ({versions}).",
        "- License: Apache-2.0.",
        "",
        "## Intended use",
        f"- Classifying texts like those it was trained on (`{source}`) into its classes, one at a time or in batches.",
        "- A small, fast, inspectable LSTM baseline for research and teaching (`sentiment-lstm explain`).",
        "",
        "## Out-of-scope use",
        "- Texts unlike its training texts (other languages, other domains, other lengths): its scores there are "
        "not calibrated.",
        "- Decisions about people, or any use where an error harms someone: it misclassifies a share of texts (below).",
        "",
        "## Training data",
        f"- `{source}`: {_count(data.get('train'))} labeled texts"
        + (f" (at most {h['limit']:,}, balanced over the classes)" if h.get("limit") else "")
        + (", of which " + ", ".join(f"{n:,} {name}" for name, n in counts.items()) + "." if counts else "."),
        "- Validation: " + (f"{_count(validation.get('texts'))} texts of `{validation.get('source')}`"
                            + (f", {h['val_fraction']:.0%} of the labeled texts held out (stratified, seed {h['seed']})."
                               if not h.get("val_data") else ".")
                            if validation else "none (a refit on every labeled text)."),
        "- " + (f"Also {_count(unlabeled.get('texts'))} unlabeled texts of `{unlabeled.get('source')}`."
                if unlabeled else "No unlabeled texts."),
        f"- The vocabulary ({h['max_tokens']} tokens) was built from the training texts only. No test split was read in training.",
        "",
        "## Training procedure",
        f"- Recipe: {recipe}. Reproduce with `sentiment-lstm train "
        + (f"--recipe {h['recipe']}`" if h.get("recipe") else "` and the hyperparameters below")
        + " (the hyperparameters are in `config.json`).",
        f"- Adam at {h['learning_rate']:g} ({h.get('lr_schedule', 'constant')} schedule), batches of {h['batch_size']}, "
        f"at most {h['epochs']} epoch{'s' if h['epochs'] != 1 else ''}"
        + (f", early stopping on validation loss (patience {h['patience']})." if validation else "."),
        f"- Dropout: embedding {h['embedding_dropout']:g}, recurrent input {h['dropout']:g}, "
        f"recurrent state {h['recurrent_dropout']:g}, before the softmax {h['dense_dropout']:g}.",
        f"- Reads the first {h['max_length']} tokens of each text in training and {serve} when it serves.",
        "",
        "## Evaluation data and metrics",
    ]
    lines += _metrics_lines(metrics, labels, evaluated_on) if metrics else [
        f"Not evaluated yet: `sentiment-lstm evaluate --model-dir {model_dir}` fills this section in."]
    lines += [
        "",
        "## Limitations",
        "- Trained on one kind of text; HTML tags are stripped, emoji and symbols ignored.",
        f"- It reads {serve}: text past that does not count.",
        "- A text with no word of its vocabulary gets the model's prior: no evidence either way.",
        "- Its usual errors are between the classes the confusion matrix pairs most (`confusion_matrix.png`).",
        "",
        "## How to load it",
        "```python",
        "import sentiment_lstm",
        f"classifier = sentiment_lstm.load({str(model_dir)!r})",
        f'classifier.predict(["A text to classify."])   # [{{"label": "{labels[0] if labels else "..."}", "score": ..., "scores": {{...}}}}]',
        "```",
        f"Or without the project: `tf.saved_model.load({str(Path(model_dir) / 'saved_model')!r}).serve(tf.constant([...]))`"
        " (its `class_names()` gives the classes in the order of the columns).",
        "",
    ]
    return "\n".join(lines)


def _count(n):
    return "some" if n is None else f"{n:,}"


def _metrics_lines(metrics, labels, evaluated_on):
    """The evaluation section: the headline metrics, then per class (more than two
    classes) or class 1's precision, recall and F1 and the confusion matrix (two)."""
    auc = "–" if metrics.get("roc_auc") is None else f"{metrics['roc_auc']:.4f}"
    lines = [f"On {evaluated_on} ({metrics['n']:,} texts, none seen in training), by `sentiment-lstm evaluate`:", ""]
    if "f1" in metrics:  # two classes: the binary report
        lines += [
            "| accuracy | precision | recall | F1 | ROC AUC |",
            "|---:|---:|---:|---:|---:|",
            f"| {metrics['accuracy']:.2%} | {metrics['precision']:.4f} | {metrics['recall']:.4f} | {metrics['f1']:.4f} | {auc} |",
            "",
            f"Precision, recall and F1 are those of {labels[1]!r}. Confusion matrix (rows: true "
            f"{', '.join(labels)}): `{metrics['confusion_matrix']}`.",
        ]
    else:
        lines += [
            "| accuracy | macro F1 | weighted F1 | ROC AUC (one-vs-rest, macro) |",
            "|---:|---:|---:|---:|",
            f"| {metrics['accuracy']:.2%} | {metrics['macro_f1']:.4f} | {metrics['weighted_f1']:.4f} | {auc} |",
            "",
            "| class | precision | recall | F1 | texts |",
            "|---|---:|---:|---:|---:|",
            *(f"| {name} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | {m['support']:,} |"
              for name, m in metrics.get("per_class", {}).items()),
        ]
    if metrics.get("roc_auc") is None and metrics.get("roc_auc_reason"):
        lines += ["", f"No ROC AUC: {metrics['roc_auc_reason']}."]
    return lines


def write(directory, metrics=None, name=None, evaluated_on="the test split"):
    """(Re)write `directory/MODEL_CARD.md` from its `config.json` and `metrics`."""
    directory = Path(directory)
    saved = json.loads((directory / CONFIG_FILE).read_text())
    with atomic_file(directory / CARD_FILE) as tmp:
        tmp.write_text(render(saved, metrics, name or directory, evaluated_on))
