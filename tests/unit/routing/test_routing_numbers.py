"""Dialled-number extraction from URIs and E.164 normalisation."""

from __future__ import annotations

import pytest

from routing.numbers import NumberStatus, dialled_candidates, normalise, uri_user


@pytest.mark.parametrize(
    ("uri", "user"),
    [
        ("sip:+14155550100@trunk.example.com", "+14155550100"),
        ("sips:+14155550100@trunk.example.com:5061;transport=tls", "+14155550100"),
        ("sip:+14155550100@gw;user=phone", "+14155550100"),
        ("SIP:0145678901@gw", "0145678901"),
        ("sip:+1-415-555-0100;npdi;rn=+14155550000@gw;user=phone", "+1-415-555-0100"),
        ('"Sales line" <sip:4155550100@gw;user=phone>;tag=abc', "4155550100"),
        ("<sip:%2B33145678901@gw>", "+33145678901"),
        ("sip:alice:secret@gw", "alice"),
        ("tel:+1-201-555-0123", "+1-201-555-0123"),
        ("tel:5550123;phone-context=+1201", "+12015550123"),
        ("tel:5550123;phone-context=example.com", "5550123"),
        ("<tel:+33145678901>", "+33145678901"),
        ("sip:gw.example.com", None),
        ("http://example.com/x", None),
        ("", None),
        (None, None),
    ],
)
def test_uri_user(uri: str | None, user: str | None) -> None:
    assert uri_user(uri) == user


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+14155550100", "US", "+14155550100"),
        ("4155550100", "US", "+14155550100"),
        ("1 (415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "US", "+14155550100"),
        ("011 33 1 45 67 89 01", "US", "+33145678901"),
        ("01 45 67 89 01", "FR", "+33145678901"),
        ("0033145678901", "FR", "+33145678901"),
        ("+33 1 45 67 89 01", "US", "+33145678901"),
        ("+33145678901", None, "+33145678901"),
    ],
)
def test_normalise_to_e164(raw: str, region: str | None, e164: str) -> None:
    parsed = normalise(raw, region)
    assert parsed.status is NumberStatus.OK
    assert parsed.e164 == e164


@pytest.mark.parametrize("raw", ["12", "0145678901234567890", "+999123"])
def test_invalid_numbers_are_reported_not_raised(raw: str) -> None:
    parsed = normalise(raw, "FR")
    assert parsed.status is NumberStatus.INVALID
    assert parsed.e164 is None and parsed.reason


def test_national_number_without_region_is_invalid() -> None:
    assert normalise("0145678901", None).status is NumberStatus.INVALID


@pytest.mark.parametrize("raw", [None, "", "sales", "s", "+", "1-800-FLOWERS", "12#34"])
def test_non_numbers(raw: str | None) -> None:
    assert normalise(raw, "US").status is NumberStatus.NO_NUMBER


def test_strict_requires_a_valid_range() -> None:
    # a 7-digit local number has a possible length in US but is no valid number
    assert normalise("5550100", "US").status is NumberStatus.OK
    assert normalise("5550100", "US", strict=True).status is NumberStatus.INVALID


def test_candidates_keep_request_uri_first() -> None:
    first, second = dialled_candidates("sip:4155550100@gw", "<sip:+33145678901@gw>", "US")
    assert (first.e164, second.e164) == ("+14155550100", "+33145678901")
