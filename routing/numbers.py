"""Dialled-number extraction and E.164 normalisation.

Theory of operation: a trunk puts the dialled number (DID/DNIS) in the user part of
the Request-URI and usually also in the To URI; some trunks put their account name
in the Request-URI instead, so both are candidates, Request-URI first.  A user part
is accepted as a number only if it is made of digits, an optional leading ``+`` and
visual separators (``-``, ``.``, ``(``, ``)``, space); ``sip:sales@host`` is not a
number.  Numbers in national or international-prefix form are read in the table's
default region by ``phonenumbers``.  Nothing here raises for bad input: the result
says what went wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote

import phonenumbers

__all__ = [
    "NumberStatus",
    "ParsedNumber",
    "dialled_candidates",
    "normalise",
    "uri_user",
]

_SCHEMES = ("sips:", "sip:", "tel:")
_NUMBER_LIKE = re.compile(r"\+?[0-9\-.() ]*[0-9][0-9\-.() ]*")
_SEPARATORS = re.compile(r"[\-.() ]")


class NumberStatus(Enum):
    OK = "ok"
    NO_NUMBER = "no-number"  # no user part, or the user part is not a number
    INVALID = "invalid"  # looks like a number but is not one in the region


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """Outcome of normalising one raw user part; ``e164`` is set iff status is OK."""

    raw: str | None
    status: NumberStatus
    e164: str | None = None
    reason: str = ""


def uri_user(uri: str | None) -> str | None:
    """Return the user part of a SIP/SIPS/tel URI or name-addr, percent-decoded.

    Accepts ``"Sales" <sip:+1415...@host;user=phone>;tag=x`` as well as a bare URI.
    For ``tel:`` URIs with a global ``phone-context`` (RFC 3966) the context digits
    are prepended to a local number.  Returns None when there is no user part.
    """
    if not uri:
        return None
    text = uri.strip()
    if "<" in text:  # name-addr: only what is inside the angle brackets counts
        start = text.index("<") + 1
        end = text.find(">", start)
        text = text[start : end if end >= 0 else len(text)]
    lowered = text.lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            body = text[len(scheme) :]
            break
    else:
        return None
    if scheme == "tel:":
        return _tel_number(body)
    if "@" not in body:
        return None  # sip:host has no user part
    user = body.split("@", 1)[0]
    user = user.split(":", 1)[0]  # drop a password, if any
    # user parameters (";isub=", ";npdi", ";rn=") may follow the number in the user part
    user = user.split(";", 1)[0]
    return unquote(user) or None


def _tel_number(body: str) -> str | None:
    number, *params = body.split(";")
    number = unquote(number)
    if not number:
        return None
    if not number.startswith("+"):
        for param in params:
            name, _, value = param.partition("=")
            value = unquote(value)
            if name.strip().lower() == "phone-context" and value.startswith("+"):
                return value + number
    return number


def normalise(raw: str | None, region: str | None, *, strict: bool = False) -> ParsedNumber:
    """Normalise a raw dialled number to E.164 using ``region`` for national forms.

    ``strict`` requires ``phonenumbers.is_valid_number`` (number-range metadata);
    otherwise a *possible* number (plausible length) is accepted, so that a range
    unknown to the installed metadata still routes.
    """
    if raw is None or not _NUMBER_LIKE.fullmatch(raw.strip()):
        return ParsedNumber(raw, NumberStatus.NO_NUMBER, reason="not a telephone number")
    compact = _SEPARATORS.sub("", raw.strip())
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as exc:
        return ParsedNumber(raw, NumberStatus.INVALID, reason=str(exc.args[0] if exc.args else exc))
    if strict and not phonenumbers.is_valid_number(number):
        return ParsedNumber(raw, NumberStatus.INVALID, reason="not a valid number")
    if not phonenumbers.is_possible_number(number):
        return ParsedNumber(raw, NumberStatus.INVALID, reason="not a possible number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ParsedNumber(raw, NumberStatus.OK, e164=e164)


def dialled_candidates(
    request_uri: str | None, to_uri: str | None, region: str | None, *, strict: bool = False
) -> tuple[ParsedNumber, ParsedNumber]:
    """Parse the Request-URI and To user parts, in that order of preference."""
    return (
        normalise(uri_user(request_uri), region, strict=strict),
        normalise(uri_user(to_uri), region, strict=strict),
    )
