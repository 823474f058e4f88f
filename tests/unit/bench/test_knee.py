"""The bench's pure parts: a point's verdict, the knee search, latency statistics."""

from __future__ import annotations

import pytest

from bench import knee as kn


def verdict(n: int, **kw: float) -> kn.Verdict:
    base = {"failed_calls": 0, "loss_pct": 0.0, "files_checked": n, "dropout_files": 0,
            "wrong_tone_files": 0}  # fmt: skip
    return kn.Verdict(n=n, **(base | kw))  # type: ignore[arg-type]


def test_a_point_is_clean_only_with_every_file_and_no_fault() -> None:
    assert verdict(64).clean and verdict(64).why() == "clean"
    assert not verdict(64, failed_calls=1).clean
    assert not verdict(64, loss_pct=0.1).clean  # the bound is strict
    assert verdict(64, loss_pct=0.099).clean
    assert not verdict(64, files_checked=63).clean
    bad = verdict(64, dropout_files=3, wrong_tone_files=1)
    assert not bad.clean
    assert bad.why() == "drop-outs in 3 files, wrong tone in 1 files"


def test_knee_is_the_largest_clean_n_below_the_first_dirty_one() -> None:
    assert kn.knee({}) is None
    assert kn.knee({64: True, 96: True}) == 96
    assert kn.knee({64: True, 96: False, 128: True}) == 64  # a lucky run above does not count
    assert kn.knee({64: False}) is None


def test_next_n_climbs_then_bisects_to_the_resolution() -> None:
    def search(clean_up_to: int, **kw: int) -> list[int]:
        results: dict[int, bool] = {}
        tried = []
        while (n := kn.next_n(results, **kw)) is not None:
            tried.append(n)
            results[n] = n <= clean_up_to
        return tried

    kw = {"start": 64, "step": 32, "limit": 256, "resolution": 8}
    assert search(170, **kw) == [64, 96, 128, 160, 192, 176, 168]
    assert kn.knee({n: n <= 170 for n in search(170, **kw)}) == 168
    assert search(1000, **kw) == [64, 96, 128, 160, 192, 224, 256]  # stops at the limit
    assert search(10, **kw) == [64, 32, 16, 8]  # below the start: halves
    for n in search(170, **kw) + search(10, **kw):
        assert n % 2 == 0  # two conversations per worker


def test_percentiles_and_loss() -> None:
    assert kn.percentile([], 50) is None
    assert kn.percentile([5.0], 99) == 5.0
    assert kn.percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    xs = [float(i) for i in range(1, 101)]
    summary = kn.latency_summary(xs)
    assert summary == {"n": 100, "p50": 50.5, "p95": 95.0, "p99": 99.0, "max": 100.0}
    assert kn.loss_pct(999, 1) == pytest.approx(0.1)
    assert kn.loss_pct(0, 0) == 0.0
