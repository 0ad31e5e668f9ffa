"""batching.py with a fake model that records its calls: coalescing, splitting, the
bounded queue. No TensorFlow; the server's tests cover the real model."""
import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sentiment_lstm.server import batching


class FakeModel:
    """Rows `[len(text), k]` per review (k: the call's number); records each call's texts."""

    def __init__(self, gate=None):
        self.calls = []
        self.gate = gate

    def __call__(self, texts):
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append(list(texts))
        return np.array([[len(t), len(self.calls)] for t in texts], np.float32)


def run(coroutine_function, *args):
    executor = ThreadPoolExecutor(max_workers=1)
    try:
        return asyncio.run(coroutine_function(executor, *args))
    finally:
        executor.shutdown()


async def concurrently(batcher, requests):
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.predict(r) for r in requests), return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_requests_share_a_call_and_each_gets_its_rows():
    model = FakeModel()
    requests = [["a" * k] for k in range(1, 11)] + [["long " * 3000, "b"]]

    async def go(executor):
        batcher = batching.MicroBatcher(model, executor, max_batch_size=64, batch_timeout_micros=200_000)
        return await concurrently(batcher, requests)

    answers = run(go)
    for request, rows in zip(requests, answers):
        assert rows[:, 0].tolist() == [len(t) for t in request]  # its own rows, in order
    reviews = sum(model.calls, [])
    assert sorted(reviews) == sorted(sum(requests, []))
    assert len(model.calls) == 1  # one batch, one model call (which groups the reviews by length itself)


def test_a_large_request_is_split_at_max_batch_size_and_reassembled():
    model = FakeModel()
    request = [f"review {k}" for k in range(10)]

    async def go(executor):
        batcher = batching.MicroBatcher(model, executor, max_batch_size=4, batch_timeout_micros=0)
        return await concurrently(batcher, [request])

    (rows,) = run(go)
    assert rows[:, 0].tolist() == [len(t) for t in request]
    assert [len(c) for c in model.calls] == [4, 4, 2]


def test_without_coalescing_each_request_runs_alone():
    model = FakeModel()

    async def go(executor):
        batcher = batching.MicroBatcher(model, executor, max_batch_size=64, coalesce=False)
        return await concurrently(batcher, [["a"], ["bb"], ["ccc"]])

    run(go)
    assert sorted(model.calls) == [["a"], ["bb"], ["ccc"]]


def test_a_full_queue_refuses_at_once_and_a_request_too_large_names_the_limit():
    gate = threading.Event()
    model = FakeModel(gate)

    async def go(executor):
        batcher = batching.MicroBatcher(model, executor, max_batch_size=2, batch_timeout_micros=0,
                                        max_enqueued_batches=2)
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.predict(["x", "y"]))  # runs, held at the gate
            await asyncio.sleep(0.2)
            waiting = asyncio.ensure_future(batcher.predict(["a", "b", "c", "d"]))  # fills the queue
            await asyncio.sleep(0)
            with pytest.raises(batching.QueueFull, match="queue is full"):
                await batcher.predict(["one more"])
            with pytest.raises(batching.TooLarge, match="at most 4 texts"):
                await batcher.predict(["r"] * 5)
            gate.set()
            return await first, await waiting
        finally:
            gate.set()
            await batcher.stop()

    first, waiting = run(go)
    assert first.shape == (2, 2) and waiting.shape == (4, 2)


def test_a_failing_model_fails_its_requests_only():
    calls = []

    def model(texts):
        calls.append(texts)
        if "boom" in texts:
            raise ValueError("model failed")
        return np.ones((len(texts), 2), np.float32)

    async def go(executor):
        batcher = batching.MicroBatcher(model, executor, coalesce=False)
        return await concurrently(batcher, [["boom"], ["fine"]])

    failed, fine = run(go)
    assert isinstance(failed, ValueError) and fine.shape == (1, 2)


@pytest.mark.parametrize("outputs", [2, 20])
def test_no_reviews_are_no_rows_of_the_models_width(outputs):
    model = FakeModel()

    async def go(executor):
        batcher = batching.MicroBatcher(model, executor, outputs=outputs)
        return (await concurrently(batcher, [[]]))[0]

    rows = run(go)
    assert rows.shape == (0, outputs) and model.calls == []
