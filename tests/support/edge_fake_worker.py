"""A minimal fake pjsua2 worker for edge tests: one UDP socket, both call legs.

A real worker answers the trunk's call on its SIP port and places the agent leg *from the
same port* (that is how the edge recognises it: dispatcher set, IP and port). One sipp
process cannot do both with separate Call-IDs, so this speaks just enough SIP by hand:

- `answer_incoming()`: wait for the edge's INVITE, answer 200 OK (Record-Route copied,
  To-tag added), wait for the ACK. OPTIONS probes are answered 200 all along.
- `call(uri)`: INVITE `uri` through the edge, wait for the 200 OK, ACK it along the
  Record-Route set.
- `kill()`: close the socket without a word, like a SIGKILLed worker.

Bounded waits everywhere; no retransmissions (loopback does not lose datagrams).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field


@dataclass
class SipMessage:
    first_line: str
    headers: list[tuple[str, str]]
    body: str

    @classmethod
    def parse(cls, data: bytes) -> SipMessage:
        text = data.decode(errors="replace")
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        return cls(lines[0], headers, body)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def get(self, name: str) -> str:
        values = self.all(name)
        return values[0] if values else ""

    @property
    def method(self) -> str:
        return "" if self.first_line.startswith("SIP/2.0") else self.first_line.split()[0]

    @property
    def status(self) -> int:
        parts = self.first_line.split()
        return int(parts[1]) if self.first_line.startswith("SIP/2.0") else 0


def _uri_of(name_addr: str) -> str:
    match = re.search(r"<([^>]+)>", name_addr)
    return match.group(1) if match else name_addr.split(";")[0].strip()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, worker: FakeWorker) -> None:
        self.worker = worker

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.worker._received(SipMessage.parse(data), addr)


@dataclass
class FakeWorker:
    port: int
    edge: tuple[str, int]
    host: str = "127.0.0.1"
    media_port: int = 0
    log: list[str] = field(default_factory=list)
    _transport: asyncio.DatagramTransport | None = None
    _queue: asyncio.Queue[tuple[SipMessage, tuple[str, int]]] = field(default_factory=asyncio.Queue)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.host, self.port)
        )
        self._transport = transport

    def kill(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # -- plumbing ----------------------------------------------------------------------

    def _send(self, text: str, addr: tuple[str, int]) -> None:
        self.log.append(f"sent to {addr}:\n{text}")
        if self._transport is not None:
            self._transport.sendto(text.encode(), addr)

    def _received(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        self.log.append(f"received from {addr}:\n{msg.first_line}")
        if msg.method == "OPTIONS":  # the edge's probe: we are alive
            self._send(self._response(msg, 200, "OK", to_tag="probe"), addr)
            return
        self._queue.put_nowait((msg, addr))

    async def _next(self, want: str, timeout: float) -> tuple[SipMessage, tuple[str, int]]:
        """The next message that is request `want` or a final response to `want`."""
        async with asyncio.timeout(timeout):
            while True:
                msg, addr = await self._queue.get()
                if msg.method == want:
                    return msg, addr
                if msg.status >= 200 and msg.get("CSeq").endswith(want):
                    return msg, addr

    def _sdp(self) -> str:
        return (
            "v=0\r\n"
            f"o=worker 1 1 IN IP4 {self.host}\r\n"
            "s=-\r\n"
            f"c=IN IP4 {self.host}\r\n"
            "t=0 0\r\n"
            f"m=audio {self.media_port} RTP/AVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
        )

    def _response(
        self, req: SipMessage, code: int, reason: str, *, to_tag: str, body: str = ""
    ) -> str:
        lines = [f"SIP/2.0 {code} {reason}"]
        lines += [f"Via: {v}" for v in req.all("Via")]
        if code < 300:
            lines += [f"Record-Route: {v}" for v in req.all("Record-Route")]
        to = req.get("To")
        if ";tag=" not in to:
            to = f"{to};tag={to_tag}"
        lines += [
            f"From: {req.get('From')}",
            f"To: {to}",
            f"Call-ID: {req.get('Call-ID')}",
            f"CSeq: {req.get('CSeq')}",
            f"Contact: <sip:worker@{self.host}:{self.port}>",
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    # -- the two legs ----------------------------------------------------------------

    async def answer_incoming(self, timeout: float = 5.0) -> SipMessage:
        """Answer the next INVITE with 200 OK and wait for its ACK; returns the INVITE."""
        invite, addr = await self._next("INVITE", timeout)
        tag = uuid.uuid4().hex[:10]
        self._send(self._response(invite, 200, "OK", to_tag=tag, body=self._sdp()), addr)
        await self._next("ACK", timeout)
        return invite

    async def call(self, uri: str, timeout: float = 5.0) -> SipMessage:
        """INVITE `uri` via the edge, ACK the 200 along its Record-Route; returns the 200."""
        call_id = f"{uuid.uuid4().hex}@fake-worker"
        from_tag = uuid.uuid4().hex[:10]
        local = f"{self.host}:{self.port}"
        via = f"SIP/2.0/UDP {local};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport"
        body = self._sdp()
        invite = (
            f"INVITE {uri} SIP/2.0\r\n"
            f"Via: {via}\r\n"
            f"From: <sip:worker@{local}>;tag={from_tag}\r\n"
            f"To: <{uri}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:worker@{local}>\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        self._send(invite, self.edge)
        ok, _ = await self._next("INVITE", timeout)
        if ok.status != 200:
            raise AssertionError(f"agent leg: {ok.first_line}")
        # UAC route set: the 200's Record-Route in reverse order
        routes = [r.strip() for rr in reversed(ok.all("Record-Route")) for r in rr.split(",")]
        target = _uri_of(ok.get("Contact"))
        ack = [
            f"ACK {target} SIP/2.0",
            f"Via: SIP/2.0/UDP {local};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport",
            *[f"Route: {r}" for r in routes],
            f"From: <sip:worker@{local}>;tag={from_tag}",
            f"To: {ok.get('To')}",
            f"Call-ID: {call_id}",
            "CSeq: 1 ACK",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
        # loose routing: the first Route is the edge; send it there
        self._send("\r\n".join(ack) + "\r\n\r\n", self.edge)
        return ok
