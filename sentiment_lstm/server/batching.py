"""Micro-batching: concurrent requests coalesced into one model call, as TensorFlow
Serving's batching does, with its parameter names.

A request's reviews wait in a bounded queue. The first review to arrive opens a batch;
the batch closes when it holds `max_batch_size` reviews or `batch_timeout_micros` have
passed since then, whichever comes first, and goes to the one model thread while the
next batch fills, as one call of the model. The model call sorts the batch by length
and runs it in groups padded to their own longest review (`serving.probabilities_fn`,
behind `Classifier.predict_proba`), so a long review does not pad the short
ones. A request larger than `max_batch_size` is split across batches. The
queue holds at most `max_enqueued_batches * max_batch_size` reviews: past that a request
is refused at once (`QueueFull`) instead of the queue growing without bound.

Example:

>>> batcher = MicroBatcher(classifier.predict_proba, executor, max_batch_size=64, outputs=2)
>>> probabilities = await batcher.predict(["A great film.", "Dull."])   # (2, 2): 2 reviews, 2 classes
"""
import asyncio
import collections
import dataclasses
import logging
import time

import numpy as np

log = logging.getLogger("sentiment_lstm.server.batching")


class QueueFull(Exception):
    """The queue has no room for a request's reviews now; its message is a sentence."""


class TooLarge(Exception):
    """A request has more reviews than the queue can ever hold; its message is a sentence."""


@dataclasses.dataclass
class _Piece:
    """Up to `max_batch_size` reviews of one request, and the future of their rows."""

    texts: list
    future: asyncio.Future
    arrival: float


class MicroBatcher:
    """Coalesces concurrent `predict` calls into batched calls of `model` on `executor`.

    Args:
        model: a function from a list of review strings to their `(n, outputs)` rows,
            e.g. `Classifier.predict_proba`; it runs on `executor`, one call at a time.
        executor: a `concurrent.futures` executor with one worker thread (the model thread).
        max_batch_size: the most reviews per batch (TF Serving's `max_batch_size`).
        batch_timeout_micros: how long a batch waits for more reviews after its first.
        max_enqueued_batches: the queue holds at most this many full batches of reviews.
        coalesce: False runs each request on its own (split at `max_batch_size`),
            for comparison; the queue bound still holds.
        outputs: the width of a row (the model's classes): the shape of no reviews' rows.
    """

    def __init__(self, model, executor, max_batch_size=64, batch_timeout_micros=2000,
                 max_enqueued_batches=100, coalesce=True, outputs=2):
        self.model = model
        self.outputs = outputs
        self.executor = executor
        self.max_batch_size = max_batch_size
        self.timeout = batch_timeout_micros / 1e6
        self.capacity = max_batch_size * max_enqueued_batches
        self.coalesce = coalesce
        self.pending = collections.deque()
        self.queued = 0  # reviews in `pending`
        self._arrived = asyncio.Event()
        self._task = None

    def start(self):
        """Start forming batches (on the running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self):
        """Stop forming batches; requests still queued fail."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for piece in self.pending:
            if not piece.future.done():
                piece.future.set_exception(QueueFull("The server is shutting down."))
        self.pending.clear()

    async def predict(self, texts):
        """The model's `(len(texts), outputs)` rows for `texts`, computed in a shared batch.

        Raises:
            TooLarge: when `texts` has more reviews than the queue can hold.
            QueueFull: when the queue has no room for them now.
        """
        texts = list(texts)
        if len(texts) > self.capacity:
            raise TooLarge(f"A request may hold at most {self.capacity:,} texts "
                           "(--max-batch-size times --max-enqueued-batches); "
                           f"this one holds {len(texts):,}.")
        if self.queued + len(texts) > self.capacity:
            raise QueueFull(f"The queue is full ({self.queued:,} texts waiting); try again shortly.")
        if not texts:
            return np.zeros((0, self.outputs), np.float32)
        loop = asyncio.get_running_loop()
        futures = []
        for start in range(0, len(texts), self.max_batch_size):
            piece = _Piece(texts[start:start + self.max_batch_size], loop.create_future(), loop.time())
            self.pending.append(piece)
            futures.append(piece.future)
        self.queued += len(texts)
        self._arrived.set()
        return np.concatenate(await asyncio.gather(*futures))

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            while not self.pending:
                self._arrived.clear()
                await self._arrived.wait()
            if self.coalesce:
                await self._fill(loop, self.pending[0].arrival + self.timeout)
            batch = self._take()
            try:
                rows = await loop.run_in_executor(self.executor, self._call, [p.texts for p in batch])
            except Exception as error:  # the model failed: every request of the batch hears of it
                for piece in batch:
                    if not piece.future.done():
                        piece.future.set_exception(error)
                continue
            for piece, piece_rows in zip(batch, rows):
                if not piece.future.done():  # not given up by its request
                    piece.future.set_result(piece_rows)

    async def _fill(self, loop, deadline):
        """Wait until a batch is full or `deadline` passes."""
        while self.queued < self.max_batch_size and (left := deadline - loop.time()) > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return

    def _take(self):
        """The pieces of the next batch, oldest first (one request's alone when not coalescing)."""
        batch, size = [self.pending.popleft()], 0
        size = len(batch[0].texts)
        while self.coalesce and self.pending and size + len(self.pending[0].texts) <= self.max_batch_size:
            size += len(self.pending[0].texts)
            batch.append(self.pending.popleft())
        self.queued -= size
        return batch

    def _call(self, pieces):
        """On the model thread: one batch's rows, split back into its pieces."""
        texts = [t for piece in pieces for t in piece]
        start = time.perf_counter()
        rows = np.asarray(self.model(texts))
        log.debug("batch of %d reviews (%d requests): %.1f ms", len(texts), len(pieces),
                  (time.perf_counter() - start) * 1e3)
        bounds = np.cumsum([len(piece) for piece in pieces])[:-1]
        return np.split(rows, bounds)
