"""The hand-built pcap files are what sipp's play_pcap_audio expects."""

from __future__ import annotations

import struct

import numpy as np

from tests.support.audio import dominant_frequency
from tests.support.rtp_pcap import (
    dtmf_packets,
    linear_to_ulaw,
    tone_packets,
    write_pcap,
)


def ulaw_to_linear(u: int) -> int:
    u = ~u & 0xFF
    exp, mant = (u >> 4) & 7, u & 0x0F
    s = (((mant << 3) + 0x84) << exp) - 0x84
    return -s if u & 0x80 else s


def read_pcap(path):
    data = path.read_bytes()
    magic, major, minor, _, _, _snap, link = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1)
    pos, out = 24, []
    while pos < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, pos)
        frame = data[pos + 16 : pos + 16 + incl]
        assert incl == orig == len(frame)
        assert frame[12:14] == b"\x08\x00"  # IPv4
        ip = frame[14:34]
        assert ip[0] == 0x45 and ip[9] == 17  # UDP
        total = struct.unpack_from("!H", ip, 2)[0]
        assert total == len(frame) - 14
        udp_len = struct.unpack_from("!H", frame, 38)[0]
        out.append((sec * 1_000_000 + usec, frame[42 : 34 + udp_len]))
        pos += 16 + incl
    return out


def test_ulaw_encoder_inverts_the_standard_decoder():
    for s in (-32000, -1000, -1, 0, 1, 100, 5000, 32000):
        back = ulaw_to_linear(linear_to_ulaw(s))
        assert abs(back - s) <= max(8, abs(s) // 16)


def test_tone_pcap_is_20ms_pcmu_packets_of_the_tone(tmp_path):
    path = tmp_path / "t.pcap"
    write_pcap(path, tone_packets(440, 1.0))
    packets = read_pcap(path)
    assert len(packets) == 50
    times = [t for t, _ in packets]
    assert set(np.diff(times)) == {20_000}  # microseconds
    samples = []
    for i, (_, rtp) in enumerate(packets):
        b0, b1, seq, ts, _ = struct.unpack_from("!BBHII", rtp)
        assert b0 == 0x80 and (b1 & 0x7F) == 0 and seq == i + 1 and ts == i * 160
        assert len(rtp) == 12 + 160
        samples += [ulaw_to_linear(u) for u in rtp[12:]]
    x = np.array(samples) / 32768.0
    assert abs(dominant_frequency(x, 8000) - 440) < 5
    assert 0.25 < np.max(np.abs(x)) < 0.35


def test_dtmf_pcap_is_rfc2833_events_with_end_packets(tmp_path):
    path = tmp_path / "d.pcap"
    write_pcap(path, dtmf_packets("1#"))
    packets = [rtp for _, rtp in read_pcap(path)]
    assert len(packets) == 2 * 9
    events = []
    for rtp in packets:
        _, b1, _, ts, _ = struct.unpack_from("!BBHII", rtp)
        event, flags, duration = struct.unpack_from("!BBH", rtp, 12)
        assert b1 & 0x7F == 101
        events.append((event, bool(flags & 0x80), bool(b1 & 0x80), ts, duration))
    first, hash_ = events[:9], events[9:]
    assert [e[0] for e in first] == [1] * 9 and [e[0] for e in hash_] == [11] * 9
    assert [e[1] for e in first] == [False] * 6 + [True] * 3  # end bit
    assert [e[2] for e in first] == [True] + [False] * 8  # marker on the first
    assert len({e[3] for e in first}) == 1 and first[0][3] != hash_[0][3]
