"""The PyTorch side of epoch_speed.py: the same classifier with `nn.LSTM`, three ways.

PyTorch is a test and benchmark dependency (`pip install -r requirements-test.txt`);
without it `availability()` says why the comparison is skipped and nothing here imports it.

Model, mirroring `sentiment_lstm.model.network.build_token_model(vocab, Config())`:
Embedding(vocab, embed_dim, padding_idx=0) -> channel dropout (Dropout1d over the
embedding channels, i.e. Keras' SpatialDropout1D) -> `pack_padded_sequence` (each row's
length = its non-padding tokens, at least 1) -> nn.LSTM(embed_dim, units) -> last state
-> Dropout -> Linear(units, 2); cross-entropy on the logits (= softmax + categorical
cross-entropy), Adam with Keras' learning rate and epsilon (1e-7).

`MODES` are the ways a PyTorch user runs it:

    packed      `pack_padded_sequence`: each row stops at its length (on CPU, PyTorch's
                slow path: a step at a time over a shrinking batch)
    unpacked    nn.LSTM over the whole padded batch, then each row's state read at its
                last valid step with a gather; padding after a row's end is computed and
                never read, so it is the same function (what a user training on
                length-bucketed batches runs)
    compiled    the unpacked model under `torch.compile` (inductor)

The three compute the same function as the project's model up to rounding, except for
a review without tokens: the project's model keeps its zero initial state through the
fully masked row, the twins run its one padding step (`lengths_of` gives it 1).
"""
import numpy as np

INSTALL_HINT = "pip install -r requirements-test.txt"


def availability():
    """`(torch, None)` when PyTorch imports, else `(None, reason)` with one sentence."""
    try:
        import torch
    except ImportError as error:
        return None, (f"PyTorch is not installed ({error}), so the PyTorch comparison is "
                      f"skipped; `{INSTALL_HINT}` adds it.")
    return torch, None


def lengths_of(tokens):
    """Valid steps per row of right-padded int `tokens` (batch, time): non-zero ids, at least 1
    (a review without tokens is one padding step in the project's pipeline)."""
    return np.maximum(np.count_nonzero(tokens, axis=1), 1)


MODES = ("packed", "unpacked", "compiled")


class TorchLSTMTrainer:
    """Trains the PyTorch twin of the project's default model on `(tokens, one-hot labels)` batches.

    Args:
        vocabulary_size: token ids, padding (0) and OOV (1) included.
        config: a `sentiment_lstm.config.Config` (embed_dim, units, embedding_dropout,
            dense_dropout, learning_rate are used; recurrent dropout is not supported).
        threads: `torch.set_num_threads` (intra-op threads).
        seed: `torch.manual_seed`.
        mode: one of `MODES`.

    Example:

    >>> trainer = TorchLSTMTrainer(100, Config(units=8, embed_dim=4), threads=1, mode="unpacked")
    >>> loss = trainer.train_epoch([(np.array([[5, 9, 0]]), np.array([[0.0, 1.0]]))])
    """

    def __init__(self, vocabulary_size, config, threads, seed=0, mode="packed"):
        torch, reason = availability()
        if torch is None:
            raise RuntimeError(reason)
        if config.recurrent_dropout or config.dropout or config.layers != 1 or config.bidirectional:
            raise ValueError("the PyTorch twin covers one unidirectional LSTM layer without "
                             "input or recurrent dropout")
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        self.torch, self.mode = torch, mode
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.threads = torch.get_num_threads()
        self.model = _classifier(torch, vocabulary_size, config, packed=mode == "packed")
        self.forward = torch.compile(self.model) if mode == "compiled" else self.model
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate, eps=1e-7)
        self.loss = torch.nn.CrossEntropyLoss()

    def train_batch(self, tokens, labels):
        """One optimiser step on int `tokens` (batch, time) and one-hot `labels` (batch, 2)."""
        torch = self.torch
        x = torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))
        lengths = torch.from_numpy(lengths_of(tokens).astype(np.int64))
        y = torch.from_numpy(np.asarray(labels).argmax(axis=1).astype(np.int64))
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.forward(x, lengths), y)
        loss.backward()
        self.optimizer.step()
        return loss

    def train_epoch(self, batches):
        """Train on every `(tokens, labels)` of `batches` once; return the last loss."""
        self.model.train()
        loss = None
        for tokens, labels in batches:
            loss = self.train_batch(tokens, labels)
        return None if loss is None else float(loss.detach())

    def predict(self, tokens):
        """Class probabilities (batch, 2) of int `tokens`, without dropout."""
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))
            lengths = torch.from_numpy(lengths_of(tokens).astype(np.int64))
            return torch.softmax(self.forward(x, lengths), dim=-1).numpy()

    def load_keras_weights(self, keras_model):
        """Copy the weights of `sentiment_lstm.model.network.build_token_model`'s default model
        (layers `embedding`, `recurrent_0`, `probabilities`) into the twin; both keep the
        LSTM's gates in the order i, f, c, o, and PyTorch's second bias is set to zero."""
        torch = self.torch
        weights = lambda name: [torch.from_numpy(np.asarray(w, dtype=np.float32))  # noqa: E731
                                for w in keras_model.get_layer(name).get_weights()]
        (embedding,), (kernel, recurrent, bias), (dense, dense_bias) = (
            weights("embedding"), weights("recurrent_0"), weights("probabilities"))
        lstm, model = self.model.lstm, self.model
        with torch.no_grad():
            model.embedding.weight.copy_(embedding)
            lstm.weight_ih_l0.copy_(kernel.T)
            lstm.weight_hh_l0.copy_(recurrent.T)
            lstm.bias_ih_l0.copy_(bias)
            lstm.bias_hh_l0.zero_()
            model.output.weight.copy_(dense.T)
            model.output.bias.copy_(dense_bias)


def _classifier(torch, vocabulary_size, config, packed=True):
    nn = torch.nn
    from torch.nn.utils.rnn import pack_padded_sequence

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocabulary_size, config.embed_dim, padding_idx=0)
            self.embedding_dropout = nn.Dropout1d(config.embedding_dropout)
            self.lstm = nn.LSTM(config.embed_dim, config.units, batch_first=True)
            self.dense_dropout = nn.Dropout(config.dense_dropout)
            self.output = nn.Linear(config.units, 2)

        def forward(self, tokens, lengths):
            x = self.embedding(tokens)  # (batch, time, embed_dim)
            x = self.embedding_dropout(x.transpose(1, 2)).transpose(1, 2)  # whole channels
            if packed:
                sequences = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                _, (h, _) = self.lstm(sequences)  # h: (1, batch, units), each row at its own length
                last = h[-1]
            else:
                outputs, _ = self.lstm(x)  # (batch, time, units), padding steps included
                at = (lengths - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])
                last = outputs.gather(1, at).squeeze(1)  # each row's h at its last valid step
            return self.output(self.dense_dropout(last))  # logits

    return Classifier()
