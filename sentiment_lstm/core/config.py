"""One place for every hyperparameter and run option, with its default.

`Config` is a dataclass; `make_parser()` turns its fields into command-line flags
(`embed_dim` -> `--embed-dim`), so a default is written once, here. The trained
model directory keeps the config as `config.json` next to the vocabulary size,
the class labels and the library versions it was trained with.

No TensorFlow import here: scripts parse their flags before TensorFlow loads.
"""
import argparse
import dataclasses
import json
import math
from dataclasses import dataclass, field

from sentiment_lstm.core.errors import UserError

CELLS = ("lstm", "gru", "rnn", "keras-lstm", "transformer")  # see model/network.RECURRENT_LAYERS, model/transformer.py
POOLINGS = ("last", "max", "mean", "max-mean", "attention")  # see model/pooling.pool
TEACHERS = ("none", "nb-lr")  # see training/teacher.py
LR_SCHEDULES = ("constant", "cosine")  # see model/optimizer.learning_rate_callbacks
DISTRIBUTE = ("none", "mirrored", "multi-worker")  # see training/distributed.py
CLASS_WEIGHTS = ("none", "balanced")  # see text/pipeline.class_weights
MIN_VAL_FRACTION = 0.01  # of 25,000 reviews, 250 to validate on


def _option(default, help, minimum=None, maximum=None, choices=None):
    """A dataclass field whose metadata becomes its command-line flag."""
    metadata = {"help": help, "min": minimum, "max": maximum, "choices": choices}
    return field(default=default, metadata=metadata)


@dataclass
class Config:
    """Hyperparameters and run options of one training run.

    Every field is a flag of `train.py`; `python train.py --help` lists them with
    their defaults. Range checks run on construction, so a bad value fails before
    any data is read.

    Example:

    >>> config = Config(cell="gru", units=32)
    >>> Config.from_json(config.to_json()) == config
    True
    """

    # Run: the recipe, where data comes from and where the model goes.
    recipe: str = _option(None, "start from a training recipe: a name in recipes/ (default, plain, best, gru, "
                          "rnn, keras-lstm, transformer, 20news, trec) or a .toml file of these settings; flags given beside it override "
                          "it (default: default)")
    name: str = _option("imdb_lstm", "run name; the model goes to models/<name> unless --model-dir")
    model_dir: str = _option(None, "output directory of the trained model (default: models/<name>)")
    data: str = _option(None, "the labeled texts to train on: a CSV/TSV table or JSON lines (see --text-column, "
                        "--label-column), a folder of class folders or an archive of one (its train/ split if it "
                        "has splits), or IMDB's archive or aclImdb/ folder (default: IMDB, found automatically); a "
                        "relative path not found here is looked for in ../shared/data/ and data/")
    text_column: str = _option(None, "the text's column (or JSON key) of tables (default: the first of text, "
                               "review, sentence, question, content, document, body, message, comment)")
    label_column: str = _option(None, "the label's column (or JSON key) of tables (default: the first of label, "
                                "labels, class, category, target, sentiment, topic, intent)")
    val_data: str = _option(None, "labeled texts to validate on, read as --data is (its validation split if it "
                            "has splits), instead of a share of the training texts")
    unlabeled: str = _option(None, "texts without labels for --teacher and --pretrained-embeddings: a folder (a "
                             "text per file), a table's text column, or a file of one text per line (default: "
                             "those --data holds, as IMDB's unsup/; none: no unlabeled texts)")
    limit: int = _option(None, "use at most this many training texts, as balanced over the classes as they allow "
                         "(and at most this many unlabeled ones)", minimum=2)
    val_fraction: float = _option(0.1, "share of the training texts held out for validation (stratified); 0: "
                                  "none, a refit on all of them for exactly --epochs epochs (no early stopping), "
                                  "once a run with validation has chosen the epochs", minimum=0.0, maximum=0.5)
    seed: int = _option(1337, "random seed of the split, shuffling and weights", minimum=0)
    deterministic: bool = _option(True, "reproducible ops (TensorFlow op determinism; turns XLA off)")
    # Text -> tokens.
    max_tokens: int = _option(20000, "vocabulary size, including padding and OOV", minimum=3)
    max_length: int = _option(200, "tokens kept per text in training; longer texts are truncated", minimum=1)
    serve_max_length: int = _option(None, "tokens per text the saved model reads when it predicts, evaluates "
                                    "and serves (default: --max-length; 0: the whole text); training still "
                                    "reads --max-length", minimum=0)
    # Model.
    cell: str = _option("lstm", "recurrent layer: the project's lstm|gru|rnn, or Keras' keras-lstm; or transformer, "
                        "a Transformer encoder in its place (self-attention over every step, sinusoidal positions)",
                        choices=CELLS)
    layers: int = _option(1, "stacked recurrent layers (Transformer encoder blocks)", minimum=1, maximum=8)
    units: int = _option(64, "units of each recurrent layer (per direction); a Transformer block's feed-forward "
                         "width", minimum=1)
    heads: int = _option(2, "attention heads of each Transformer block (--cell transformer); the step vector's "
                         "width must divide by it", minimum=1)
    bidirectional: bool = _option(False, "read each text both ways (keras.layers.Bidirectional)")
    pooling: str = _option("last", "text vector from the last recurrent layer: its last state, or the "
                           "max, mean or both of its outputs over the text's steps, or attention: their sum "
                           "weighted by additive attention with a learned query", choices=POOLINGS)
    embed_dim: int = _option(64, "size of the token embedding", minimum=1)
    bigram_dim: int = _option(0, "size of a learned vector of each step's bigram with the token before, read "
                              "beside the word's embedding (bigrams of 3 texts trained on or more; 0: none)",
                              minimum=0)
    trigram_dim: int = _option(0, "size of a learned vector of each step's trigram with the two tokens before, "
                               "read beside the word's embedding (trigrams of 3 texts trained on or more; 0: none)",
                               minimum=0)
    linear_ngrams: bool = _option(
        False, "also add to the class scores a learned weight per word and per n-gram the model reads "
        "(--bigram-dim, --trigram-dim), summed over the text: a linear bag-of-n-grams path beside the "
        "recurrent one (wide and deep), its terms dropped a whole step at a time at --embedding-dropout")
    linear_once: bool = _option(False, "with --linear-ngrams, add each word's and n-gram's weight once per text "
                                "however often it occurs (presence, as NB-LR's features), not once per occurrence "
                                "(the n-grams without a weight of their own share one, added once per distinct n-gram)")
    teacher: str = _option("none", "also train on unlabeled texts (--unlabeled) and on the crops (--crops) with the "
                           "class probabilities that an n-gram model (nb-lr) fitted on the training split gives them (knowledge "
                           "distillation; the teacher is not part of the trained model)",
                           choices=TEACHERS)
    crops: int = _option(0, "also train on this many short crops of each text (a sentence or two, or a phrase of "
                         "2-30 words), so the model reads a sentence as well as a whole text; their targets are "
                         "the teacher's probabilities with --teacher, else their text's label", minimum=0)
    class_weight: str = _option("none", "weigh each training text by its class: none, or balanced (scikit-learn's "
                                "n / (classes x the class's count), so every class weighs the same in the loss)",
                                choices=CLASS_WEIGHTS)
    pretrained_embeddings: bool = _option(
        False, "start the embedding from PPMI-SVD word vectors of the training and unlabeled texts")
    embedding_dropout: float = _option(0.2, "spatial dropout of whole embedding channels",
                                       minimum=0.0, maximum=0.9)
    dropout: float = _option(0.0, "dropout of the recurrent layers' inputs (of a Transformer "
                             "block's attention weights and sublayer outputs)", minimum=0.0, maximum=0.9)
    recurrent_dropout: float = _option(0.0, "dropout of the recurrent state", minimum=0.0, maximum=0.9)
    dense_dropout: float = _option(0.3, "dropout before the softmax layer", minimum=0.0, maximum=0.9)
    # Optimisation.
    learning_rate: float = _option(1e-3, "Adam learning rate", minimum=1e-7, maximum=1.0)
    lr_schedule: str = _option("constant", "learning rate by epoch: constant, or cosine, falling from "
                               "--learning-rate at the first epoch towards 0 after --lr-schedule-epochs",
                               choices=LR_SCHEDULES)
    lr_schedule_epochs: int = _option(None, "epochs the cosine schedule spans (default: --epochs); a refit "
                                      "of a validated cosine run for the N epochs it chose passes that "
                                      "run's --epochs here, so its N epochs get the same rates", minimum=1)
    lazy_adam: bool = _option(False, "update only the embedding rows each batch uses, with their own Adam "
                              "moments (TF Addons' LazyAdam); much faster steps with large n-gram tables, "
                              "but untouched rows keep their moments undecayed")
    ema_momentum: float = _option(0.0, "keep an exponential moving average of the weights with this momentum "
                                  "(Polyak averaging, Keras' use_ema), validated, checkpointed and saved in "
                                  "place of the last step's weights; 0: off", minimum=0.0, maximum=0.99999)
    batch_size: int = _option(64, "texts per batch", minimum=1)
    epochs: int = _option(10, "maximum number of epochs (with --val-fraction 0, the exact number)", minimum=1)
    patience: int = _option(2, "epochs without val_loss improvement before early stopping (none with "
                            "--val-fraction 0)", minimum=1)
    bucket: bool = _option(True, "batch texts of similar length together")
    jit_compile: bool = _option(False, "compile training steps with XLA (needs --no-deterministic)")
    steps_per_execution: int = _option(16, "training batches per call into TensorFlow (fewer round trips "
                                       "through Python; about 5%% faster epochs here)", minimum=1)
    distribute: str = _option("none", "train under tf.distribute: none (one process, Keras' fit), mirrored (every "
                              "local device: GPUs, else the CPU), or multi-worker (the machines of the TF_CONFIG "
                              "environment variable; see docs/distributed.md)", choices=DISTRIBUTE)
    intra_op_threads: int = _option(1, "threads each TensorFlow op may use in training (0: TensorFlow's "
                                    "default, all cores); 1 leaves the recurrence and the work beside it "
                                    "a core each (about 10%% faster LSTM epochs on 2 cores)", minimum=0)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            problem = check(f, getattr(self, f.name))
            if problem:
                raise UserError(f"--{flag_name(f.name)} {problem}.")
        if 0 < self.val_fraction < MIN_VAL_FRACTION:
            raise UserError(f"--val-fraction must be 0 (a refit without validation) or at least "
                            f"{MIN_VAL_FRACTION}, not {self.val_fraction}.")
        if self.lr_schedule_epochs is not None and self.lr_schedule_epochs < self.epochs:
            raise UserError(f"--lr-schedule-epochs must be at least --epochs ({self.epochs}), since the "
                            f"cosine schedule reaches 0 after it, not {self.lr_schedule_epochs}.")
        if self.jit_compile and self.deterministic:
            raise UserError("--jit-compile needs --no-deterministic, because TensorFlow "
                            "turns XLA off while op determinism is on.")
        if self.jit_compile and self.distribute != "none":
            raise UserError("--jit-compile does not apply with --distribute, whose training steps run "
                            "in tf.distribute's replicas without XLA.")
        if self.cell == "transformer" and self.pooling == "last":
            raise UserError("--cell transformer has no last state: it reads every step at once; give --pooling "
                            "mean, max, max-mean or attention (or --recipe transformer).")
        width = self.embed_dim + self.bigram_dim + self.trigram_dim
        if self.cell == "transformer" and width % self.heads:
            raise UserError(f"--heads {self.heads} must divide the step vector's width, --embed-dim + "
                            f"--bigram-dim + --trigram-dim = {width}, for --cell transformer.")
        if self.cell == "transformer" and self.bidirectional:
            raise UserError("--bidirectional does not apply to --cell transformer, whose every step attends "
                            "to the whole text already.")
        if self.linear_once and not self.linear_ngrams:
            raise UserError("--linear-once (given, or set by the recipe) applies to the linear path: give "
                            "--linear-ngrams with it, or --no-linear-once.")
        if self.jit_compile and self.cell == "keras-lstm":
            raise UserError("--jit-compile does not work with --cell keras-lstm, "
                            "whose TensorFlow kernel does not support XLA.")

    @property
    def output_dir(self):
        """The model directory: `model_dir`, else `models/<name>`."""
        return self.model_dir or f"models/{self.name}"

    @property
    def validates(self):
        """Whether the run has validation texts to choose its epoch by: `val_data`, or a
        share of the training texts (`val_fraction` above 0)."""
        return self.val_data is not None or bool(self.val_fraction)

    @property
    def serve_length(self):
        """The tokens per text the saved model reads (`serve_max_length`, else
        `max_length`); None for the whole text."""
        if self.serve_max_length is None:
            return self.max_length
        return self.serve_max_length or None

    def to_json(self, **extra):
        """JSON text of the hyperparameters, followed by `extra` top-level entries."""
        return json.dumps({"hyperparameters": dataclasses.asdict(self), **extra}, indent=2)

    @classmethod
    def from_json(cls, text):
        """The `Config` saved by `to_json`; unknown keys (from newer versions) are ignored."""
        saved = json.loads(text)["hyperparameters"]
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in names})


def flag_name(name):
    return name.replace("_", "-")


def check(f, value):
    """What is wrong with `value` for field `f`, as the end of a sentence, or None."""
    if value is None:
        return None if f.default is None else "needs a value"
    meta = f.metadata
    if meta.get("choices") and value not in meta["choices"]:
        return f"must be one of {', '.join(meta['choices'])}, not {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    if meta.get("min") is not None and value < meta["min"]:
        return f"must be at least {meta['min']}, not {value}"
    if meta.get("max") is not None and value > meta["max"]:
        return f"must be at most {meta['max']}, not {value}"
    return None


def make_parser(parser, recipe_defaults=None):
    """Add one flag per `Config` field to the `argparse` `parser`; return it.

    Flags the user does not give are left out of the parsed namespace (argparse's
    SUPPRESS), so `recipe.from_args` can tell them from the defaults a recipe replaces.
    `recipe_defaults`: `{field: value}` of the recipe a run starts from without
    `--recipe`, shown in the help beside the field's own default.
    """
    recipe_defaults = recipe_defaults or {}
    for f in dataclasses.fields(Config):
        flag = "--" + flag_name(f.name)
        if f.name in recipe_defaults and recipe_defaults[f.name] != f.default:
            own = "unset" if f.default is None else f.default
            default = f" (default: {recipe_defaults[f.name]} from the default recipe, else {own})"
        else:
            default = "" if f.default is None else f" (default: {f.default})"
        default = default.replace("%", "%%")
        if f.type is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                                help=f.metadata["help"] + default)
        else:
            parser.add_argument(flag, type=parse_type(f.name), default=argparse.SUPPRESS,
                                help=f.metadata["help"] + default,
                                metavar="|".join(f.metadata["choices"] or [f.name.upper()]))
    return parser


def parse_type(name):
    """An argparse `type` for field `name`: converts the flag's text, checks its range."""
    f = next(f for f in dataclasses.fields(Config) if f.name == name)
    base = f.type

    def parse(text):
        try:
            value = base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {base.__name__}, got {text!r}") from None
        problem = check(f, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = base.__name__  # argparse names the type in its messages
    return parse
