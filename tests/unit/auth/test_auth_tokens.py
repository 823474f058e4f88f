"""Token format, hashing and the id used for lookup and revocation."""

from __future__ import annotations

import hashlib

from gateway.auth.tokens import PREFIX, hash_token, matches, new_token, token_id


def test_a_new_token_is_random_prefixed_and_carries_its_id() -> None:
    a, b = new_token(), new_token()
    assert a.token != b.token and a.id != b.id
    assert a.token.startswith(f"{PREFIX}{a.id}_")
    assert len(a.token.removeprefix(f"{PREFIX}{a.id}_")) == 43  # token_urlsafe(32): 256 bits
    assert token_id(a.token) == a.id


def test_only_the_sha256_is_kept_and_it_matches_the_token_alone() -> None:
    t = new_token()
    assert t.sha256 == hashlib.sha256(t.token.encode()).hexdigest() == hash_token(t.token)
    assert t.token not in t.sha256
    assert matches(t.token, t.sha256)
    assert not matches(t.token + "x", t.sha256)
    assert not matches(new_token().token, t.sha256)


def test_anything_but_a_well_formed_token_has_no_id() -> None:
    t = new_token().token
    for bad in ("", "s3cret", t[:-1], t.replace(PREFIX, "xyz_"), t + "a", " " + t):
        assert token_id(bad) is None, bad


def test_ids_parse_whatever_characters_the_secret_holds() -> None:
    for _ in range(500):  # the url-safe alphabet includes "_" and "-"
        t = new_token()
        assert token_id(t.token) == t.id
