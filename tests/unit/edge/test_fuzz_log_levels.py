"""Kamailio's complaints about a malformed message it received are relayed at DEBUG.

The lines are as the edge printed them during tests/integration/fuzz/ (10,000 fuzzed
datagrams made 43,000 ERROR lines before): the sender's fault, not the edge's. The edge's
own trouble keeps its level.
"""

from __future__ import annotations

import logging

import pytest

from gateway.edge.process import _log_level

ABOUT_A_MESSAGE = [
    " 4(971) ERROR: <core> [core/parser/msg_parser.c:424]: parse_headers(): duplicate Max-Forwards header field [Max-Forwards: 70",
    " 6(3) ERROR: <core> [core/parser/parse_via.c:2719]: parse_via(): invalid port number",
    " 4(971) ERROR: {1 <null> <null>} <core> [core/receive.c:447]: receive_msg(): required headers not found in request",
    " 6(3) ERROR:  <core> [core/msg_translator.c:2409]: build_res_buf_from_sip_req(): alas, parse_headers failed",
    " 2(5) ERROR: {1 1 OPTIONS x} maxfwd [mf_funcs.c:69]: is_maxfwd_present(): unable to parse the max forwards number",
    " 3(5) ERROR: {1 1 INVITE x} tmx [tmx_pretran.c:227]: tmx_check_pretran(): failed to get From header",
    # a Call-ID with CR/LF cut the log prefix open; the rest of the line came next
    " 3(21305) ERROR: {2 <null> fuzz",
    # ... and a line that is the rest of a header value (forged to look like an error)
    "Via: SIP/2.0/UDP 198.51.100.159:5060;branch=z9hG4bK 2(21304) ERROR: forged",
    " 1(2) ERROR: {1 1 REGISTER x} auth [api.c:123]: auth_check_hdr_md5(): Credentials are not filled properly",
    " 3(5) ERROR:  <core> [core/forward.c:695]: update_sock_struct_from_via(): bad rport value(abc)",
    " 4(971) ERROR: pv [pv_core.c:754]: pv_get_callid(): cannot parse Call-Id header",
    " 4(971) ERROR: topos [topos_mod.c:391]: tps_prepare_msg(): cannot parse cseq header",
    " 6(3) ERROR: topos [tps_msg.c:317]: tps_dlg_message_update(): failed to parse r-uri",
    " 6(3) ERROR:  sanity [sanity.c:326]: check_required_headers(): failed to parse headers",
    " 1(3964) WARNING: {1 <null> x} sanity [sanity.c:285]: check_ruri_scheme(): failed to send 400 via sl reply (bad ruri)",
    " 7(9) CRITICAL:  <core> [core/udp_server.c:603]: udp_send(): invalid sendtoparameters",
    " 6(3) ERROR: <core> [core/pvapi.c:1503]: pv_printf_mode(): buffer overflow -- increase the buffer size...",
]
THE_EDGES_OWN = [
    (" 3(7) CRITICAL: dialog [dlg_hash.c:1087]: log_next_state_dlg(): bogus event 7 in state 1",
     logging.ERROR),
    (" 0(1) ERROR: <core> [core/tcp_main.c:123]: something of the edge's own", logging.ERROR),
    (" 2(5) WARNING: <script>: no worker available for call from 127.0.0.1:5070 to 100",
     logging.WARNING),
    (" 2(5) NOTICE: <script>: malformed request from 127.0.0.1:5070", logging.INFO),
    ((" 2(5) ERROR: {2 1 INVITE a@b} <core> [core/udp_server.c:597]: udp_send(): sendto(sock, "
      "buf: 0x7f8a45a18258, len: 798, 0, dst: (198.51.100.1:5060), tolen: 16) - err: Network "
      "is unreachable (101)"), logging.WARNING),
    ((" 2(5) ERROR: {2 1 INVITE a@b} <core> [core/forward.h:231]: msg_send_buffer(): udp_send "
      "failed"), logging.WARNING),
    (" 2(5) INFO: <core> [main.c:1]: started", logging.DEBUG),
]  # fmt: skip


@pytest.mark.parametrize("line", ABOUT_A_MESSAGE)
def test_complaints_about_a_received_message_are_debug(line: str) -> None:
    assert _log_level(line) == logging.DEBUG


@pytest.mark.parametrize(("line", "level"), THE_EDGES_OWN)
def test_the_edges_own_trouble_keeps_its_level(line: str, level: int) -> None:
    assert _log_level(line) == level
