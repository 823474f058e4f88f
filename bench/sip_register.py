"""Register many agents at the edge, each with its own digest credentials, all pointing
their Contact at one sipp UAS (sipp 3.6 does not expand injected usernames inside
``[authentication]``, so one sipp cannot register 2N different users).

    await register_all(("127.0.0.1", 5060), "127.0.0.1", users, contact_port=29400)

``users``: (username, password). One UDP socket, a few REGISTERs in flight, each sent,
challenged (401), answered with the digest, and done on 200; retransmitted on silence.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Sequence

_AUTH = re.compile(r'(\w+)="?([^",]*)"?')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest(challenge: str, user: str, password: str, method: str, uri: str, cnonce: str) -> str:
    """The Authorization header value answering a ``WWW-Authenticate: Digest ...``."""
    fields = dict(_AUTH.findall(challenge.split(" ", 1)[1]))
    realm, nonce = fields["realm"], fields["nonce"]
    ha1, ha2 = _md5(f"{user}:{realm}:{password}"), _md5(f"{method}:{uri}")
    qop = "auth" if "auth" in fields.get("qop", "").split(",") else ""
    if qop:
        response = _md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        extra = f', qop=auth, nc=00000001, cnonce="{cnonce}"'
    else:
        response, extra = _md5(f"{ha1}:{nonce}:{ha2}"), ""
    opaque = f', opaque="{fields["opaque"]}"' if "opaque" in fields else ""
    return (
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", algorithm=MD5{extra}{opaque}'
    )


class _Proto(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[str]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        text = data.decode(errors="replace")
        m = re.search(r"^Call-ID:\s*(\S+)", text, re.MULTILINE | re.IGNORECASE)
        status = text.split(" ", 2)[1] if text.startswith("SIP/2.0 ") else ""
        fut = self.waiting.get(m[1]) if m and status not in ("100", "") else None
        if fut is not None and not fut.done():
            fut.set_result(text)


async def register_all(
    edge: tuple[str, int],
    domain: str,
    users: Sequence[tuple[str, str]],
    *,
    contact_port: int,
    expires: int = 300,
    in_flight: int = 8,
) -> None:
    """Register every user; raise RuntimeError naming the first that failed."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        _Proto, local_addr=("127.0.0.1", 0), remote_addr=edge
    )
    local_port = transport.get_extra_info("sockname")[1]
    gate = asyncio.Semaphore(in_flight)

    async def exchange(call_id: str, message: str) -> str:
        for _ in range(6):
            fut = loop.create_future()
            proto.waiting[call_id] = fut
            transport.sendto(message.encode())
            try:
                return await asyncio.wait_for(fut, 0.5)
            except TimeoutError:
                continue
        raise RuntimeError(f"no answer to REGISTER {call_id}")

    async def one(user: str, password: str) -> None:
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)
        uri = f"sip:{domain}"

        def request(cseq: int, auth: str | None) -> str:
            lines = [
                f"REGISTER {uri} SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};rport;branch=z9hG4bK{secrets.token_hex(6)}",
                f"From: <sip:{user}@{domain}>;tag={tag}",
                f"To: <sip:{user}@{domain}>",
                f"Call-ID: {call_id}",
                f"CSeq: {cseq} REGISTER",
                f"Contact: <sip:{user}@127.0.0.1:{contact_port}>",
                f"Expires: {expires}",
                "Max-Forwards: 70",
            ]
            if auth:
                lines.append(f"Authorization: {auth}")
            return "\r\n".join([*lines, "Content-Length: 0", "", ""])

        async with gate:
            reply = await exchange(call_id, request(1, None))
            if reply.startswith("SIP/2.0 401"):
                m = re.search(
                    r"^WWW-Authenticate:\s*(.+?)\r?$", reply, re.MULTILINE | re.IGNORECASE
                )
                if m is None:
                    raise RuntimeError(f"{user}: 401 without a challenge")
                auth = digest(m[1], user, password, "REGISTER", uri, secrets.token_hex(4))
                reply = await exchange(call_id, request(2, auth))
            if not reply.startswith("SIP/2.0 200"):
                raise RuntimeError(f"{user}: REGISTER got {reply.splitlines()[0]!r}")

    try:
        await asyncio.gather(*(one(u, pw) for u, pw in users))
    finally:
        transport.close()
