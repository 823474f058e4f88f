"""A deterministic SIP message mutator and a paced UDP sender for fuzzing the gateway.

Seeds are RFC 3261 messages (INVITE with SDP, REGISTER, OPTIONS, BYE, ACK, CANCEL, INFO,
and 100/180/200 responses) addressed to the target; each case applies 1-3 grammar-aware
mutations (header deletion, duplication, reordering, malformed Via/To/From/Call-ID/CSeq,
bad Content-Length, bad start lines, unknown methods, folding, compact forms, broken SDP,
oversized headers and bodies around the edge's and pjsip's size limits) and sometimes a
byte-level one (truncation, bit flips, NUL and non-UTF-8 bytes, bare LF or CR line ends).

Deterministic: case ``i`` of seed ``s`` is built from ``random.Random(f"{s}:{i}")`` alone,
so ``case(s, i)`` rebuilds one failing message without replaying the others. The seed
comes from ``CONTACTGW_FUZZ_SEED`` (default: a fixed one, so CI is repeatable) and the
count from ``CONTACTGW_FUZZ_COUNT``; both are printed by the tests.

    target = Target("127.0.0.1", 5060, "127.0.0.1", 30001, domain="127.0.0.1")
    stats = send(target, cases(seed(), target, count()), probe_every=100, max_seconds=120)
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

SEED_ENV, COUNT_ENV = "CONTACTGW_FUZZ_SEED", "CONTACTGW_FUZZ_COUNT"
DEFAULT_SEED, DEFAULT_COUNT = 20261201, 10_000
CALL_ID_PREFIX = "fuzz-"
# Sizes around the limits that matter: pjsip's 4000-byte packet buffer, the edge's
# 9216-byte guard (513 above it), topos' 8192-byte pack buffer, Kamailio's 64 KiB buffer.
SIZES = (
    511,
    512,
    513,
    1400,
    3990,
    4000,
    4001,
    4096,
    8191,
    8192,
    9000,
    9216,
    9217,
    12000,
    20000,
    40000,
    60000,
)
UDP_MAX = 65_000
OMIT = "\x00omit"


def seed() -> int:
    return int(os.environ.get(SEED_ENV, DEFAULT_SEED))


def count(default: int = DEFAULT_COUNT) -> int:
    return int(os.environ.get(COUNT_ENV, default))


@dataclass(frozen=True, slots=True)
class Target:
    """Where the messages go (host:port) and the sender's own address (Via, Contact)."""

    host: str
    port: int
    local_host: str
    local_port: int
    domain: str = "127.0.0.1"
    user: str = "+15559990000"  # Request-URI user of INVITEs: an unknown DID


@dataclass(slots=True)
class Message:
    """A SIP message as start line, ordered headers and body (mutated in place)."""

    start: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    content_length: str | None = None  # None: the body's true length; OMIT: no header

    def render(self) -> bytes:
        lines = [self.start, *(f"{n}: {v}" if n else v for n, v in self.headers)]
        if self.content_length != OMIT:
            length = str(len(self.body)) if self.content_length is None else self.content_length
            lines.append(f"Content-Length: {length}")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("utf-8", errors="surrogateescape") + self.body

    def find(self, name: str) -> list[int]:
        return [i for i, (n, _) in enumerate(self.headers) if n.lower() == name.lower()]


@dataclass(frozen=True, slots=True)
class Case:
    index: int
    seed_name: str
    mutations: tuple[str, ...]
    data: bytes
    call_id: str


# ------------------------------------------------------------------ seeds (RFC 3261)
def _sdp(t: Target, rng: random.Random) -> bytes:
    port = 40000 + 2 * rng.randrange(1000)
    return (
        "v=0\r\n"
        f"o=fuzz {rng.randrange(10**9)} 1 IN IP4 {t.local_host}\r\n"
        "s=fuzz\r\n"
        f"c=IN IP4 {t.local_host}\r\n"
        "t=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n"
        "a=sendrecv\r\n"
    ).encode()


def _request(
    method: str,
    t: Target,
    call_id: str,
    rng: random.Random,
    *,
    uri: str | None = None,
    to_tag: bool = False,
    cseq: int = 1,
) -> Message:
    branch = f"z9hG4bK-{rng.getrandbits(48):012x}"
    uri = uri or f"sip:{t.host}:{t.port}"
    to_param = f";tag={rng.getrandbits(32):08x}" if to_tag else ""
    return Message(
        f"{method} {uri} SIP/2.0",
        [
            ("Via", f"SIP/2.0/UDP {t.local_host}:{t.local_port};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f'"Fuzz" <sip:fuzz@{t.local_host}>;tag={rng.getrandbits(32):08x}'),
            ("To", f"<{uri}>{to_param}"),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<sip:fuzz@{t.local_host}:{t.local_port}>"),
            ("User-Agent", "contactgw-fuzz"),
        ],
    )


def _invite(t: Target, cid: str, rng: random.Random) -> Message:
    m = _request("INVITE", t, cid, rng, uri=f"sip:{t.user}@{t.host}:{t.port}")
    m.headers += [
        ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"),
        ("Content-Type", "application/sdp"),
    ]
    m.body = _sdp(t, rng)
    return m


def _register(t: Target, cid: str, rng: random.Random) -> Message:
    m = _request("REGISTER", t, cid, rng, uri=f"sip:{t.domain}")
    m.headers[3] = ("To", f"<sip:alice@{t.domain}>")
    m.headers += [("Expires", "60")]
    if rng.random() < 0.5:  # a response to a challenge, with a wrong password
        auth = (
            f'Digest username="alice", realm="{t.domain}", nonce="{rng.getrandbits(64):016x}", '
            f'uri="sip:{t.domain}", response="{"0" * 32}", algorithm=MD5, qop=auth, '
            f'nc=00000001, cnonce="{rng.getrandbits(32):08x}"'
        )
        m.headers.append(("Authorization", auth))
    return m


def _in_dialog(method: str) -> Callable[[Target, str, random.Random], Message]:
    def build(t: Target, cid: str, rng: random.Random) -> Message:
        return _request(
            method,
            t,
            cid,
            rng,
            uri=f"sip:{t.user}@{t.host}:{t.port}",
            to_tag=method != "CANCEL",
            cseq=1 if method in ("ACK", "CANCEL") else 2,
        )

    return build


def _info(t: Target, cid: str, rng: random.Random) -> Message:
    m = _in_dialog("INFO")(t, cid, rng)
    m.headers.append(("Content-Type", "application/dtmf-relay"))
    m.body = b"Signal=5\r\nDuration=160\r\n"
    return m


def _response(code: int, reason: str, sdp: bool) -> Callable[[Target, str, random.Random], Message]:
    def build(t: Target, cid: str, rng: random.Random) -> Message:
        req = _invite(t, cid, rng)
        m = Message(
            f"SIP/2.0 {code} {reason}",
            [h for h in req.headers if h[0] in ("Via", "From", "To", "Call-ID", "CSeq", "Contact")],
        )
        if code > 100:
            i = m.find("To")[0]
            m.headers[i] = ("To", m.headers[i][1] + f";tag={rng.getrandbits(32):08x}")
        if sdp:
            m.headers.append(("Content-Type", "application/sdp"))
            m.body = _sdp(t, rng)
        return m

    return build


SEEDS: dict[str, Callable[[Target, str, random.Random], Message]] = {
    "INVITE": _invite,
    "REGISTER": _register,
    "OPTIONS": lambda t, cid, rng: _request("OPTIONS", t, cid, rng),
    "BYE": _in_dialog("BYE"),
    "ACK": _in_dialog("ACK"),
    "CANCEL": _in_dialog("CANCEL"),
    "INFO": _info,
    "100": _response(100, "Trying", False),
    "180": _response(180, "Ringing", False),
    "200": _response(200, "OK", True),
}
# INVITEs weigh most: they reach the most code (dialogs, SDP, the worker's parser).
WEIGHTS = {
    "INVITE": 6,
    "REGISTER": 2,
    "OPTIONS": 1,
    "BYE": 1,
    "ACK": 1,
    "CANCEL": 1,
    "INFO": 1,
    "100": 1,
    "180": 1,
    "200": 1,
}


# ------------------------------------------------------------------ grammar mutations
def _garbage(rng: random.Random, n: int | None = None) -> str:
    n = rng.randrange(0, 40) if n is None else n
    alphabet = "abcXYZ019 <>@:;,=\"'\\/%*?!~^&|()[]{}\t"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _pick(m: Message, rng: random.Random) -> int | None:
    return rng.randrange(len(m.headers)) if m.headers else None


def drop_header(m: Message, rng: random.Random) -> None:
    names = [
        "Via",
        "To",
        "From",
        "Call-ID",
        "CSeq",
        "Max-Forwards",
        "Contact",
        "Content-Type",
        "Content-Length",
    ]
    target = rng.choice(names) if rng.random() < 0.7 else None
    if target == "Content-Length":
        m.content_length = OMIT
        return
    idx = m.find(target) if target else ([i] if (i := _pick(m, rng)) is not None else [])
    for i in reversed(idx):
        del m.headers[i]


def duplicate_header(m: Message, rng: random.Random) -> None:
    if (i := _pick(m, rng)) is not None:
        for _ in range(rng.choice((1, 1, 2, 50))):
            m.headers.insert(i, m.headers[i])


def reorder_headers(m: Message, rng: random.Random) -> None:
    rng.shuffle(m.headers)


def bad_content_length(m: Message, rng: random.Random) -> None:
    n = len(m.body)
    m.content_length = rng.choice(
        [
            "-1",
            "-99999",
            "99999999999999999999999",
            "4294967296",
            "abc",
            "",
            " ",
            "0x10",
            "1e3",
            str(n + rng.randrange(1, 5000)),
            str(max(0, n - rng.randrange(1, 50))),
            "0",
            f"{n} {n}",
            f"{n}\x00",
            "+5",
            "٣",
        ]
    )


def bad_cseq(m: Message, rng: random.Random) -> None:
    method = m.start.split(" ", 1)[0] if not m.start.startswith("SIP/") else "INVITE"
    value = rng.choice(
        [
            f"{2**32} {method}",
            f"{2**64} {method}",
            f"-1 {method}",
            f"abc {method}",
            f"1 {method.lower()}",
            "1",
            method,
            "",
            f"1 {method} extra",
            "1 OTHER",
            f"0 {method}",
            f"1\t{method}",
            f"{'9' * 400} {method}",
        ]
    )
    idx = m.find("CSeq")
    if idx:
        m.headers[idx[0]] = ("CSeq", value)
    else:
        m.headers.append(("CSeq", value))


def bad_start_line(m: Message, rng: random.Random) -> None:
    parts = [*m.start.split(" "), "", ""]
    if m.start.startswith("SIP/"):
        code = rng.choice(["99", "1000", "abc", "-200", "2000000000000", "", "700", "200.5"])
        m.start = rng.choice(
            [
                f"SIP/2.0 {code} X",
                f"SIP/3.0 {parts[1]} OK",
                "SIP/2.0",
                "SIP/2.0 ",
                f"sip/2.0 {parts[1]} OK",
                f"SIP/2.0  {parts[1]}",
            ]
        )
        return
    method, uri = parts[0], parts[1]
    m.start = rng.choice(
        [
            f"{method} {uri}",
            f"{method}  {uri}  SIP/2.0",
            f"{method} {uri} SIP/3.0",
            f"{method} {uri} HTTP/1.1",
            f"{method.lower()} {uri} SIP/2.0",
            f"{method} SIP/2.0",
            f"{method} <{uri}> SIP/2.0",
            f"{method} {_garbage(rng)} SIP/2.0",
            "",
            " ",
            f"{method} sip: SIP/2.0",
            f"{method} sip:@ SIP/2.0",
            f"{method} tel:+1;;; SIP/2.0",
            f"{method} {uri}:99999999 SIP/2.0",
            f"{method} {uri} SIP/2.0 trailing",
            f"{method}\t{uri}\tSIP/2.0",
            "GET / HTTP/1.1",
        ]
    )


def unknown_method(m: Message, rng: random.Random) -> None:
    if m.start.startswith("SIP/"):
        return bad_start_line(m, rng)
    new = rng.choice(
        [
            "FOO",
            "X" * rng.randrange(1, 300),
            "INVITEX",
            "PUBLISH",
            "NOTIFY",
            "REFER",
            "SUBSCRIBE",
            "UPDATE",
            "PRACK",
            "MESSAGE",
            "inv ite",
            "!",
            "1NVITE",
        ]
    )
    old, _, rest = m.start.partition(" ")
    m.start = f"{new} {rest}"
    for i in m.find("CSeq"):
        num = m.headers[i][1].split(" ")[0]
        m.headers[i] = ("CSeq", f"{num} {new if rng.random() < 0.7 else old}")
    return None


def fold_header(m: Message, rng: random.Random) -> None:
    if (i := _pick(m, rng)) is None:
        return
    name, value = m.headers[i]
    cut = rng.randrange(len(value) + 1)
    ws = rng.choice(["\r\n ", "\r\n\t", "\r\n  \t ", "\r\n"])
    m.headers[i] = (name, value[:cut] + ws + value[cut:])


def compact_forms(m: Message, rng: random.Random) -> None:
    compact = {
        "via": "v",
        "from": "f",
        "to": "t",
        "call-id": "i",
        "contact": "m",
        "content-type": "c",
        "content-length": "l",
    }
    m.headers = [(compact.get(n.lower(), n) if rng.random() < 0.7 else n, v) for n, v in m.headers]


def header_whitespace(m: Message, rng: random.Random) -> None:
    if (i := _pick(m, rng)) is not None:
        name, value = m.headers[i]
        m.headers[i] = (
            f"{name}{rng.choice(['', ' ', '  ', chr(9)])}",
            rng.choice(["", " ", "\t\t"]) + value + rng.choice(["", " ", "\t"]),
        )
        if rng.random() < 0.3:
            m.headers[i] = ("", f"{name}{value}")  # no colon at all


def malformed_core_header(m: Message, rng: random.Random) -> None:
    name = rng.choice(["Via", "To", "From", "Call-ID", "Contact", "Max-Forwards"])
    bad = {
        "Via": [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0/XYZ 127.0.0.1;branch=z9hG4bK1",
            "SIP/2.0/UDP 127.0.0.1",
            "SIP/2.0/UDP :5060;branch=z9hG4bKx",
            "SIP/2.0/UDP 999.999.999.999:99999;branch=z9hG4bK",
            "SIP/2.0/UDP [::1;branch=z9hG4bK",
            "SIP/2.0/UDP 127.0.0.1;branch=;rport=abc;received=x",
            "SIP/2.0/UDP 127.0.0.1:0;branch=z9hG4bK" + "a" * 2000,
        ],
        "To": [
            "",
            "<",
            "sip:",
            "<sip:>",
            ">>><<<",
            "<sip:@>",
            '"unterminated <sip:a@b>',
            "<sip:a@b>;tag=",
            "<sip:a@b>;tag=1;tag=2",
            "<http://x>",
            "<sip:a@b" + ">" * 100,
        ],
        "From": [
            "",
            "<sip:a@b>",
            "<",
            "sip:",
            "<sip:a@b>;tag",
            '"\x00" <sip:a@b>;tag=1',
            '"\u202e\u0007" <sip:+1555\x1b[2J@b>;tag=1',
            "<sip:a@b>;tag=" + "x" * 3000,
        ],
        "Call-ID": [
            "",
            " ",
            "@",
            "a" * 5000,
            "fuzz\x00nul",
            "fuzz\udcffbyte",
            '<>;"',
            "fuzz id with spaces",
        ],
        "Contact": [
            "*",
            "<*>",
            "<sip:a@b>;expires=-1",
            "<sip:a@b>;expires=99999999999999",
            "<>",
            ",,,,",
            "<sip:a@b:99999>",
        ],
        "Max-Forwards": ["0", "-1", "abc", "99999999999", "", "256"],
    }[name]
    value = rng.choice(bad)
    idx = m.find(name)
    if idx:
        m.headers[rng.choice(idx)] = (name, value)
    else:
        m.headers.append((name, value))


def oversize_header(m: Message, rng: random.Random) -> None:
    size = rng.choice(SIZES)
    kind = rng.random()
    if kind < 0.4:
        m.headers.append(
            (rng.choice(["X-Pad", "Subject", "Identity", "P-Asserted-Identity"]), "x" * size)
        )
    elif kind < 0.7:  # an SBC chain: many Via headers
        via = next((v for n, v in m.headers if n == "Via"), "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK")
        m.headers = (
            [
                ("Via", f"SIP/2.0/UDP 198.51.100.{i % 250}:5060;branch=z9hG4bK{i}x")
                for i in range(size // 55)
            ]
            + m.headers
            + [("Via", via)]
        )
    else:  # many small headers
        m.headers += [(f"X-H{i}", "v") for i in range(size // 10)]


def oversize_body(m: Message, rng: random.Random) -> None:
    size = rng.choice(SIZES)
    m.body = (m.body + b"a=x-pad:" + b"p" * size + b"\r\n") if m.body else b"z" * size


def broken_sdp(m: Message, rng: random.Random) -> None:
    if not m.body:
        m.headers.append(("Content-Type", "application/sdp"))
        m.body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    lines = m.body.split(b"\r\n")
    choice = rng.randrange(12)
    if choice == 0:
        lines = [ln for ln in lines if not ln.startswith(b"c=")]
    elif choice == 1:
        lines = [ln for ln in lines if not ln.startswith(b"m=")]
    elif choice == 2:
        port = rng.choice([b"0", b"65536", b"99999999", b"-1", b"abc", b"", b"1/0", b"65535/2"])
        lines = [
            b"m=audio " + port + b" RTP/AVP 0 8" if ln.startswith(b"m=") else ln for ln in lines
        ]
    elif choice == 3:
        codecs = rng.choice([b"255 999 abc", b"", b"96", b"-1", b"0 " * 500, b"18 3 4 9 97 98"])
        lines = [b"m=audio 4000 RTP/AVP " + codecs if ln.startswith(b"m=") else ln for ln in lines]
    elif choice == 4:
        lines.append(
            rng.choice(
                [
                    b"a=rtpmap:",
                    b"a=rtpmap:999 X/0",
                    b"a=rtpmap:0 PCMU/-8000",
                    b"a=fmtp:101 " + b"9" * 400,
                    b"a=rtcp:0",
                    b"a=ptime:0",
                    b"a=ptime:-20",
                ]
            )
        )
    elif choice == 5:
        lines = [
            b"c=IN IP4 " + rng.choice([b"", b"999.1.1.1", b"::1", b"host.invalid", b"0.0.0.0"])
            if ln.startswith(b"c=")
            else ln
            for ln in lines
        ]
    elif choice == 6:
        lines = [ln for ln in lines if not ln.startswith(b"v=")] or [b"garbage"]
    elif choice == 7:
        lines += [b"m=audio 4002 RTP/AVP 0"] * rng.choice([2, 20, 200])
    elif choice == 8:
        lines = [b"m=video 4000 RTP/AVP 31" if ln.startswith(b"m=") else ln for ln in lines]
    elif choice == 9:
        lines = [ln.replace(b"=", b" ") for ln in lines]
    elif choice == 10:
        lines = [b"v=1"] + lines[1:]
    else:
        lines = [ln + b"\x00\xff" for ln in lines]
    m.body = b"\r\n".join(lines)


def to_tag(m: Message, rng: random.Random) -> None:
    for i in m.find("To"):
        m.headers[i] = ("To", m.headers[i][1] + f";tag={rng.getrandbits(32):x}")


def hostile_text(m: Message, rng: random.Random) -> None:
    """Control characters, ANSI escapes, NUL and bytes that are not UTF-8 in a value."""
    if (i := _pick(m, rng)) is None:
        return
    name, value = m.headers[i]
    evil = rng.choice(
        [
            "\x00",
            "\x1b[2J",
            "\x1b]0;pwned\x07",
            "\udcff\udcfe",
            "\udcc3(",
            "\u202e",
            "\u2028",
            "\x7f",
            "\x08" * 5,
            "\x0bline",
            "\r",
            "\\x41",
        ]
    )
    cut = rng.randrange(len(value) + 1)
    m.headers[i] = (name, value[:cut] + evil + value[cut:])


GRAMMAR: dict[str, Callable[[Message, random.Random], None]] = {
    f.__name__: f
    for f in (
        drop_header,
        duplicate_header,
        reorder_headers,
        bad_content_length,
        bad_cseq,
        bad_start_line,
        unknown_method,
        fold_header,
        compact_forms,
        header_whitespace,
        malformed_core_header,
        oversize_header,
        oversize_body,
        broken_sdp,
        to_tag,
        hostile_text,
    )
}


# ------------------------------------------------------------------ byte mutations
def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))] if data else data


def bit_flips(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 2, 4, 16))):
        if buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    return bytes(buf)


def insert_bytes(data: bytes, rng: random.Random) -> bytes:
    chunk = rng.choice(
        [
            b"\x00",
            b"\xff\xfe",
            b"\xc3\x28",
            b"\x80",
            b"\xf0\x28\x8c\x28",
            bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 64))),
        ]
    )
    at = rng.randrange(len(data) + 1)
    return data[:at] + chunk + data[at:]


def line_endings(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\r\n", rng.choice([b"\n", b"\r", b"\n\r", b"\r\r\n"]))


def no_blank_line(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\r\n\r\n", b"\r\n", 1)


BYTES: dict[str, Callable[[bytes, random.Random], bytes]] = {
    f.__name__: f for f in (truncate, bit_flips, insert_bytes, line_endings, no_blank_line)
}


# ------------------------------------------------------------------ cases
def case(run_seed: int, index: int, target: Target, kinds: Iterable[str] | None = None) -> Case:
    """Case ``index`` of run ``run_seed``: built from its own RNG, so reproducible alone."""
    rng = random.Random(f"{run_seed}:{index}")
    names = list(kinds) if kinds is not None else list(SEEDS)
    name = rng.choices(names, weights=[WEIGHTS.get(n, 1) for n in names])[0]
    call_id = f"{CALL_ID_PREFIX}{run_seed}-{index}@fuzz.invalid"
    msg = SEEDS[name](target, call_id, rng)
    applied: list[str] = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        mutation = rng.choice(list(GRAMMAR))
        GRAMMAR[mutation](msg, rng)
        applied.append(mutation)
    data = msg.render()
    if rng.random() < 0.3:
        mutation = rng.choice(list(BYTES))
        data = BYTES[mutation](data, rng)
        applied.append(mutation)
    return Case(index, name, tuple(applied), data[:UDP_MAX], call_id)


def cases(
    run_seed: int, target: Target, n: int, kinds: Iterable[str] | None = None
) -> Iterator[Case]:
    kinds = tuple(kinds) if kinds is not None else None
    return (case(run_seed, i, target, kinds) for i in range(n))


# ------------------------------------------------------------------ sending
@dataclass(slots=True)
class Stats:
    sent: int = 0
    send_errors: int = 0
    responses: Counter[str] = field(default_factory=Counter)
    probes: int = 0
    probe_max_ms: float = 0.0
    seconds: float = 0.0
    by_seed: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[str] = field(default_factory=Counter)


class TargetDown(AssertionError):
    """A liveness probe got no 200: the target stopped answering during the fuzz."""


def _probe(t: Target, n: int) -> bytes:
    return _request("OPTIONS", t, f"probe-{n}@fuzz.invalid", random.Random(n)).render()


def _drain(sock: socket.socket, stats: Stats, want: bytes | None, until: float) -> bool:
    """Read replies (counting status codes) until ``want`` (a Call-ID) is seen in a 200
    or ``until`` passes; with ``want=None`` only what is already queued."""
    while True:
        timeout = max(0.0, until - time.monotonic())
        sock.settimeout(timeout if want is not None else 0.0)
        try:
            data = sock.recv(70_000)
        except (BlockingIOError, TimeoutError):
            return False
        except ConnectionRefusedError:  # ICMP port unreachable from an earlier send
            if want is not None and time.monotonic() >= until:
                return False
            continue
        first = data.split(b"\r\n", 1)[0]
        parts = first.split(b" ")
        code = (
            parts[1].decode(errors="replace")
            if first.startswith(b"SIP/2.0") and len(parts) > 1
            else "?"
        )
        if want is not None and code == "200" and want in data:
            return True
        stats.responses[code] += 1


def _probe_alive(
    sock: socket.socket, target: Target, after: Case, stats: Stats, timeout_s: float
) -> None:
    """An OPTIONS, retransmitted every 500 ms (a burst of large datagrams may have filled
    the target's socket buffer and dropped one) until its 200 or ``timeout_s``."""
    stats.probes += 1
    sent_at = time.monotonic()
    want = f"probe-{after.index}@".encode()
    while time.monotonic() - sent_at < timeout_s:
        sock.sendto(_probe(target, after.index), (target.host, target.port))
        if _drain(sock, stats, want, min(time.monotonic() + 0.5, sent_at + timeout_s)):
            stats.probe_max_ms = max(stats.probe_max_ms, (time.monotonic() - sent_at) * 1000)
            return
    raise TargetDown(
        f"no 200 to the probe within {timeout_s} s after case {after.index} ({after.seed_name} "
        f"{'+'.join(after.mutations)}): {target.host}:{target.port}"
    )


def send(
    target: Target,
    batch: Iterable[Case],
    *,
    probe_every: int = 100,
    probe_timeout_s: float = 5.0,
    max_seconds: float = 120.0,
    on_progress: Callable[[Stats], None] | None = None,
) -> Stats:
    """Send every case from ``target.local_host:local_port``; after each ``probe_every``
    messages send an OPTIONS and wait for its 200 (liveness, and pacing: the next burst
    goes only when the target has worked through the last). Raises ``TargetDown`` if a
    probe is not answered, ``TimeoutError`` past ``max_seconds``."""
    stats = Stats()
    start = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((target.local_host, target.local_port))
        dest = (target.host, target.port)
        for c in batch:
            try:
                sock.sendto(c.data, dest)
                stats.sent += 1
            except OSError:
                stats.send_errors += 1
            stats.by_seed[c.seed_name] += 1
            stats.by_mutation.update(c.mutations)
            _drain(sock, stats, None, 0.0)
            if (c.index + 1) % probe_every == 0:
                _probe_alive(sock, target, c, stats, probe_timeout_s)
                if on_progress is not None:
                    on_progress(stats)
            if time.monotonic() - start > max_seconds:
                raise TimeoutError(f"fuzz over {max_seconds} s after {stats.sent} messages")
        time.sleep(0.5)
        _drain(sock, stats, None, 0.0)
    stats.seconds = time.monotonic() - start
    return stats
