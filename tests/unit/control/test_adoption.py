"""A new control plane rebuilds a resumed worker's calls from its snapshot (adoption.py):
the old one is the real call flow (the rig), its Annotate notes become the snapshot the
new switchboard is given, at a later stepped time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from acd import commands as cmd
from acd import events as ev
from acd.engine import Engine
from acd.errors import InvalidTransitionError
from acd.model import AgentConfig, QueueConfig
from acd.states import AgentState
from gateway.control import adoption
from gateway.control import effects as fx
from gateway.control.clock import Instant
from gateway.control.phases import Phase
from gateway.control.switchboard import Switchboard
from gateway.ipc import protocol as p
from tests.unit.control.conftest import Rig

L = p.LegState


def notes(rig: Rig) -> dict[str, dict[str, object]]:
    """The last note the old control plane left with each caller leg."""
    return {a.leg: a.note for a in rig.pool.of(p.Annotate)}


def new_board(rig: Rig) -> Switchboard:
    """A fresh control plane: same routing and queues, nobody logged in."""
    old = rig.board
    engine = Engine()
    engine.handle(ev.AddQueue(QueueConfig("sales", offer_timeout=10, wrap_up=5)), 0.0)
    for agent in ("alice", "bob"):
        engine.handle(ev.AddAgent(AgentConfig(agent, queues=("sales",))), 0.0)
    return Switchboard(engine=engine, settings=old.settings, prompts=old.prompts,
                       routing=old._routing)  # fmt: skip


def later(rig: Rig, seconds: float, mono: float = 50.0) -> Instant:
    """`seconds` after the rig's now, on another process's monotonic clock."""
    return Instant(mono, rig.clock.now().wall + timedelta(seconds=seconds))


def adopt(board: Switchboard, snaps: list[p.LegSnapshot], now: Instant) -> list[fx.Effect]:
    for snap in snaps:
        assert board.worker_event("w1", snap, now) == []
    return board.worker_event("w1", p.SnapshotDone(len(snaps), 3.0, 0), now)


def sends(effects: list[fx.Effect], kind: type[p.Command]) -> list[p.Command]:
    return [e.command for e in effects if isinstance(e, fx.Send) and isinstance(e.command, kind)]


def snap(leg: str, state: p.LegState, note: dict[str, object] | None = None,
         **kw: object) -> p.LegSnapshot:  # fmt: skip
    direction = "in" if "-in-" in leg else "out"
    return p.LegSnapshot(leg, f"sip-{leg}", direction, state, "sip:x@y", note or {}, **kw)  # type: ignore[arg-type]


async def old_plane(rig: Rig) -> tuple[str, str, str, str, str]:
    """Call 1 talking with alice; call 2 ringing bob; call 3 waiting. Returns the ids and
    the agent legs of calls 1 and 2."""
    rig.driver.feed(ev.AddAgent(AgentConfig("bob", queues=("sales",))))
    rig.login("alice")
    rig.incoming("+15550100100", "w1-in-1")
    await rig.settle()
    (dial1,) = rig.pool.of(p.Dial)
    assert dial1.leg is not None
    rig.leg(dial1.leg, L.CONFIRMED)
    rig.step(1)
    rig.incoming("+15550100100", "w1-in-2")
    rig.step(1)
    rig.incoming("+15550100100", "w1-in-3")
    rig.login("bob")  # call 2, the longest waiting, rings bob
    await rig.settle()
    dial2 = rig.pool.of(p.Dial)[-1]
    assert dial2.uri.startswith("sip:bob@") and dial2.leg is not None
    ids = {s.caller_leg: s.call_id for s in rig.board.calls.sessions()}
    return ids["w1-in-1"], ids["w1-in-2"], ids["w1-in-3"], dial1.leg, dial2.leg


async def test_talking_continues_ringing_is_cancelled_and_the_line_keeps_its_order(
    rig: Rig,
) -> None:
    c1, c2, c3, a1, a2 = await old_plane(rig)
    n = notes(rig)
    assert [n[leg]["phase"] for leg in ("w1-in-1", "w1-in-2", "w1-in-3")] == [
        "connected", "queued", "queued"]  # fmt: skip
    caller1 = str(n["w1-in-1"]["rec"]["caller"])  # type: ignore[index]
    agent1 = str(n["w1-in-1"]["rec"]["agent"])  # type: ignore[index]
    music = str(rig.board.prompts.path("music"))
    snaps = [  # the worker's order need not be the line's
        snap("w1-in-3", L.CONFIRMED, n["w1-in-3"], playing=music, playing_loop=True),
        snap(a2, L.EARLY),
        snap("w1-in-2", L.CONFIRMED, n["w1-in-2"], playing=music, playing_loop=True),
        snap("w1-in-1", L.CONFIRMED, n["w1-in-1"], bridged_to=a1, recording=caller1),
        snap(a1, L.CONFIRMED, bridged_to="w1-in-1", recording=agent1),
        snap("w1-in-9", L.CONFIRMED),  # no note: a call the old plane never routed
    ]
    board = new_board(rig)
    now = later(rig, 4.0)
    out = adopt(board, snaps, now)

    phases = {s.call_id: s.phase for s in board.calls.sessions()}
    assert phases == {c1: Phase.CONNECTED, c2: Phase.QUEUED, c3: Phase.QUEUED}
    alice = board.engine.agent("alice")
    assert (alice.state, alice.call_id) == (AgentState.ON_CALL, c1)
    assert board.engine.waiting("sales") == [c2, c3]  # original order, whatever came first
    # arrival times kept, on the new clock: 6 s and 5 s before its now (wall time)
    waited = [now.mono - board.engine.call(c).arrival_time for c in (c2, c3)]  # type: ignore[union-attr]
    assert waited == [5.0, 4.0]
    hangups = {h.leg: h.code for h in sends(out, p.Hangup)}  # type: ignore[attr-defined]
    assert hangups == {a2: 487, "w1-in-9": 503}  # bob's ring stops; the stray leg ends
    assert sends(out, p.Play) == []  # the music still plays in the worker
    assert sends(out, p.Bridge) == [] and sends(out, p.RecordStart) == []  # all live
    assert [a for a in sends(out, p.Annotate)] == []  # the notes are the worker's already
    logged = [e for e in out if isinstance(e, fx.LogAgentState)]
    assert [(e.agent, e.state, e.reason) for e in logged] == [("alice", "on-call", "adopted")]

    # bob's phone registers: the longest waiting caller rings him, with a new leg name
    out = board.feed(ev.AgentLogin("bob"), Instant(51.0, now.wall + timedelta(seconds=1)))
    (dial,) = sends(out, p.Dial)
    assert dial.uri.startswith("sip:bob@") and dial.leg == f"{c2}-a2"  # type: ignore[attr-defined]

    # the replayed / later events close call 1 as usual: a complete record
    t = Instant(52.0, now.wall + timedelta(seconds=2))
    board.worker_event("w1", p.LegStateChanged(a1, L.DISCONNECTED, 200), t)
    board.worker_event("w1", p.LegStateChanged("w1-in-1", L.DISCONNECTED, 200), t)
    board.worker_event("w1", p.RecordingClosed("w1-in-1", caller1, 9.0, 144044), t)
    out = board.worker_event("w1", p.RecordingClosed(a1, agent1, 9.0, 144044), t)
    (close,) = [e for e in out if isinstance(e, fx.CloseRecord)]
    assert (close.call_id, close.disposition, close.hangup_by) == (c1, "answered", "agent")
    assert close.recordings == {"caller": caller1, "agent": agent1}
    assert board.engine.agent("alice").state is AgentState.WRAP_UP


async def test_a_caller_who_left_while_orphaned_is_abandoned_from_the_replay(rig: Rig) -> None:
    _, c2, _, _, a2 = await old_plane(rig)
    n = notes(rig)
    board = new_board(rig)
    now = later(rig, 2.0)
    adopt(board, [snap("w1-in-2", L.CONFIRMED, n["w1-in-2"]), snap(a2, L.EARLY)], now)
    assert board.engine.waiting("sales") == [c2]
    out = board.worker_event("w1", p.LegStateChanged("w1-in-2", L.DISCONNECTED, 200), now)
    (close,) = [e for e in out if isinstance(e, fx.CloseRecord)]
    assert (close.call_id, close.disposition) == (c2, "abandoned")
    assert board.engine.waiting("sales") == []


async def test_other_phases_are_finished_and_an_unconfirmed_answer_waits_for_its_ack(
    rig: Rig,
) -> None:
    rig.incoming("+15550100999", "w1-in-1")  # unknown number: an announcement (183)
    rig.incoming("+15550100100", "w1-in-2", confirm=False)  # answered, no ACK yet
    await rig.settle()
    n = notes(rig)
    assert (n["w1-in-1"]["phase"], n["w1-in-2"]["phase"]) == ("announcing", "answering")
    board = new_board(rig)
    now = later(rig, 1.0)
    out = adopt(board, [snap("w1-in-1", L.EARLY, n["w1-in-1"]),
                        snap("w1-in-2", L.CONNECTING, n["w1-in-2"])], now)  # fmt: skip
    (hangup,) = sends(out, p.Hangup)
    assert (hangup.leg, hangup.code) == ("w1-in-1", 404)  # type: ignore[attr-defined]
    phases = {s.caller_leg: s.phase for s in board.calls.sessions()}
    assert phases == {"w1-in-1": Phase.HANGING_UP, "w1-in-2": Phase.ANSWERING}
    call2 = board.calls.by_leg("w1-in-2")
    assert call2 is not None and board.engine.waiting("sales") == []
    board.feed(ev.AgentLogin("alice"), now)
    out = board.worker_event("w1", p.LegStateChanged("w1-in-2", L.CONFIRMED, 200), now)
    assert [d.uri for d in sends(out, p.Dial)] == ["sip:alice@gw.test"]  # type: ignore[attr-defined]
    out = board.worker_event("w1", p.LegStateChanged("w1-in-1", L.DISCONNECTED, 404), now)
    (close,) = [e for e in out if isinstance(e, fx.CloseRecord)]
    assert close.disposition == "unknown_did"


def test_the_acd_learns_an_adopted_conversation() -> None:
    engine = Engine()
    engine.handle(ev.AddQueue(QueueConfig("q", wrap_up=5)), 0.0)
    engine.handle(ev.AddAgent(AgentConfig("a", queues=("q",))), 0.0)
    engine.handle(ev.AddAgent(AgentConfig("b", queues=("q",))), 0.0)
    out = engine.handle(ev.ConversationAdopted("c1", "q", "a", arrival_time=-30.0), 1.0)
    assert out == [cmd.AgentStateChanged("a", AgentState.LOGGED_OUT, AgentState.ON_CALL,
                                         "adopted")]  # fmt: skip
    view = engine.agent("a")
    assert (view.state, view.call_id) == (AgentState.ON_CALL, "c1")
    engine.handle(ev.AgentLogin("b"), 1.0)
    engine.handle(ev.AgentPause("b"), 1.0)
    with pytest.raises(InvalidTransitionError, match="paused"):  # in no conversation of ours
        engine.handle(ev.ConversationAdopted("c2", "q", "b"), 2.0)
    assert engine.call("c2") is None
    engine.handle(ev.ConversationEnded("c1"), 9.0)
    assert engine.agent("a").state is AgentState.WRAP_UP
    assert engine.next_deadline() == 14.0


async def test_agents_paused_before_the_loss_are_paused_again(rig: Rig) -> None:
    rig.login("alice")
    rig.driver.feed(ev.AgentPause("alice", "lunch"))
    await rig.settle()
    since = rig.clock.now().wall - timedelta(days=1)
    (*_, last) = await rig.cdr.agent_states("alice", since=since)  # what the daemon reads
    assert (last.state, last.reason) == ("paused", "lunch")
    restored = adoption.restored_agents(
        {"alice": (last.state, last.reason), "bob": ("paused", None), "carol": ("available", None),
         "dave": ("paused", "break")},
        {"alice": AgentState.LOGGED_OUT, "bob": AgentState.ON_CALL, "carol": AgentState.LOGGED_OUT},
    )  # fmt: skip
    # alice logged in and paused; bob, in an adopted conversation, once it ends; carol is
    # presence's; dave is no agent of this configuration any more
    assert restored == [ev.AgentLogin("alice"), ev.AgentPause("alice", "lunch"),
                        ev.AgentPause("bob", "break")]  # fmt: skip
