"""Write pcap files of RTP packets for sipp's ``play_pcap_audio``.

The pcap is built by hand (libpcap format, Ethernet/IPv4/UDP/RTP): sipp only needs
the UDP payloads and the capture timestamps (it replays at capture pace and
rewrites addresses and ports), so the headers just have to be well formed.

    python -m tests.support.rtp_pcap tone out.pcap --freq 440 --seconds 10
    python -m tests.support.rtp_pcap dtmf out.pcap --digits 123#

* ``tone``: PCMU (payload type 0), 20 ms packets of a sine at ``freq`` Hz.
* ``dtmf``: RFC 2833 telephone-events (payload type 101): per digit, 6 packets of
  a growing duration (marker on the first), 3 end packets, then a gap.
"""

from __future__ import annotations

import argparse
import math
import struct
from pathlib import Path

SAMPLE_RATE = 8000
PTIME_MS = 20
SAMPLES = SAMPLE_RATE * PTIME_MS // 1000  # 160 per packet
DTMF_EVENTS = {
    **{str(d): d for d in range(10)},
    "*": 10,
    "#": 11,
    "A": 12,
    "B": 13,
    "C": 14,
    "D": 15,
}


def linear_to_ulaw(sample: int) -> int:
    """G.711 mu-law encoding of one 16-bit linear sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = 7
    for exp in range(7, -1, -1):
        if magnitude & (0x4000 >> (7 - exp)):
            exponent = exp
            break
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(payload: bytes, src: tuple[str, int], dst: tuple[str, int]) -> bytes:
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    ip_src = bytes(int(x) for x in src[0].split("."))
    ip_dst = bytes(int(x) for x in dst[0].split("."))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, ip_src, ip_dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


def _rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return (
        struct.pack(
            "!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc
        )
        + payload
    )


def write_pcap(
    path: str | Path,
    packets: list[tuple[float, bytes]],
    src: tuple[str, int] = ("127.0.0.1", 40000),
    dst: tuple[str, int] = ("127.0.0.1", 40002),
) -> None:
    """``packets``: (time in seconds, RTP bytes)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for t, rtp in packets:
        frame = _frame(rtp, src, dst)
        sec = int(t)
        usec = round((t - sec) * 1_000_000)
        out.append(struct.pack("<IIII", 1_700_000_000 + sec, usec, len(frame), len(frame)))
        out.append(frame)
    Path(path).write_bytes(b"".join(out))


def tone_packets(
    freq: float, seconds: float, amplitude: float = 0.3, ssrc: int = 0x1234ABCD
) -> list[tuple[float, bytes]]:
    n_packets = int(seconds * 1000 / PTIME_MS)
    packets = []
    for i in range(n_packets):
        samples = (
            int(amplitude * 32767 * math.sin(2 * math.pi * freq * (i * SAMPLES + k) / SAMPLE_RATE))
            for k in range(SAMPLES)
        )
        payload = bytes(linear_to_ulaw(s) for s in samples)
        packets.append((i * PTIME_MS / 1000, _rtp(0, i + 1, i * SAMPLES, ssrc, payload, i == 0)))
    return packets


def dtmf_packets(
    digits: str, pt: int = 101, lead_s: float = 0.2, ssrc: int = 0x5678EF01
) -> list[tuple[float, bytes]]:
    packets: list[tuple[float, bytes]] = []
    seq, t = 1, lead_s
    for n, digit in enumerate(digits.upper()):
        event = DTMF_EVENTS[digit]
        ts = 8000 + n * 8000  # a fresh RTP timestamp per event
        for k in range(6):  # 120 ms of tone
            payload = struct.pack("!BBH", event, 10, (k + 1) * SAMPLES)
            packets.append((t, _rtp(pt, seq, ts, ssrc, payload, marker=(k == 0))))
            seq, t = seq + 1, t + PTIME_MS / 1000
        for _ in range(3):  # end of event, sent three times as RFC 4733 asks
            payload = struct.pack("!BBH", event, 0x80 | 10, 6 * SAMPLES)
            packets.append((t, _rtp(pt, seq, ts, ssrc, payload)))
            seq, t = seq + 1, t + PTIME_MS / 1000
        t += 0.3  # gap between digits
    return packets


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="kind", required=True)
    tone = sub.add_parser("tone")
    tone.add_argument("out")
    tone.add_argument("--freq", type=float, default=440.0)
    tone.add_argument("--seconds", type=float, default=10.0)
    dtmf = sub.add_parser("dtmf")
    dtmf.add_argument("out")
    dtmf.add_argument("--digits", default="123#")
    args = ap.parse_args()
    if args.kind == "tone":
        write_pcap(args.out, tone_packets(args.freq, args.seconds))
    else:
        write_pcap(args.out, dtmf_packets(args.digits))


if __name__ == "__main__":
    main()
