import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from app.latest import LatestOnly
from pipeline import Aggregate, Canvas, ImageCache, ImageKey, Reduction, Viewport


def aggregate_of(nbytes: int, x0: float = 0.0) -> Aggregate:
    viewport = Viewport(x0, x0 + 1, 0.0, 1.0)
    return Aggregate(np.zeros(nbytes, dtype=np.uint8), viewport, Canvas(1, 1), Reduction(), 0, 0.0)


def key(x0: float) -> ImageKey:
    return ImageKey(Viewport(x0, x0 + 1, 0.0, 1.0), Canvas(1, 1), Reduction())


def test_cache_is_bounded_by_bytes_and_evicts_the_oldest() -> None:
    cache = ImageCache(max_bytes=250)
    for x0 in range(4):
        cache.get_or_compute(key(x0), lambda x0=x0: aggregate_of(100, x0))
    assert len(cache) == 2 and cache.nbytes == 200
    value, hit = cache.get_or_compute(key(3), lambda: aggregate_of(100, 99))
    assert hit and value.viewport.x0 == 3
    _, hit = cache.get_or_compute(key(0), lambda: aggregate_of(100))
    assert not hit


def test_cache_computes_a_key_once_for_concurrent_askers() -> None:
    cache = ImageCache(max_bytes=1000)
    calls = []
    gate = threading.Event()

    def slow() -> Aggregate:
        calls.append(1)
        gate.wait(5)
        return aggregate_of(10)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(cache.get_or_compute, key(0), slow) for _ in range(4)]
        time.sleep(0.1)
        gate.set()
        results = [f.result(5) for f in futures]
    assert len(calls) == 1
    assert sorted(hit for _, hit in results) == [False, True, True, True]
    assert len({id(value) for value, _ in results}) == 1


def test_latest_only_runs_one_at_a_time_and_keeps_only_the_newest() -> None:
    started: list[int] = []
    done: list[tuple[int, bool]] = []
    release = threading.Event()
    pool = ThreadPoolExecutor(4)

    def work(request: int) -> int:
        started.append(request)
        release.wait(5)
        return request

    finished = threading.Event()

    def on_done(request: int, future: Future[int], superseded: bool) -> None:
        done.append((future.result(), superseded))
        if request == 9:
            finished.set()

    runner: LatestOnly[int, int] = LatestOnly(lambda r: pool.submit(work, r), on_done)
    for request in range(10):
        runner.request(request)
    assert runner.request(9) is False  # equal to the last request
    release.set()
    assert finished.wait(5)
    pool.shutdown()
    assert started == [0, 9]
    assert done == [(0, True), (9, False)]
