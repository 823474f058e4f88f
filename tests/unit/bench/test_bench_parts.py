"""The bench's other pure parts: the digest answer its agents register with, and the
CPU-per-group arithmetic of two /proc snapshots."""

from __future__ import annotations

from bench.procstat import Proc, groups
from bench.sip_register import digest


def test_digest_answers_the_rfc_2617_example() -> None:
    challenge = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = digest(challenge, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b")
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert 'qop=auth, nc=00000001, cnonce="0a4f113b"' in header
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def test_digest_without_qop_is_the_rfc_2069_form() -> None:
    header = digest('Digest realm="r", nonce="n"', "u", "p", "REGISTER", "sip:d", "c")
    assert "qop" not in header and 'username="u", realm="r", nonce="n"' in header


def test_groups_count_the_window_of_processes_alive_at_its_end() -> None:
    before = {
        1: Proc(1, "control plane", 10.0, 100.0, 10, {"loop": 8.0, "python": 2.0}),
        2: Proc(2, "workers", 5.0, 19.0, 5),
        3: Proc(3, "workers", 1.0, 19.0, 5),  # gone by the end: not counted
    }
    after = {
        1: Proc(1, "control plane", 12.0, 110.0, 10, {"loop": 9.5, "python": 2.5}),
        2: Proc(2, "workers", 6.0, 20.0, 5),
        4: Proc(4, "workers", 0.5, 18.0, 5),  # started in the window: from zero
    }
    out = groups(before, after, seconds=10.0)
    assert out["control plane"]["cpu_s"] == 2.0
    assert out["control plane"]["core_pct"] == 20.0
    assert out["control plane"]["by_thread_s"] == {"loop": 1.5, "python": 0.5}
    assert out["workers"] == {"cpu_s": 1.5, "core_pct": 15.0, "procs": 2, "rss_mb": 38.0,
                              "threads": 10}  # fmt: skip
