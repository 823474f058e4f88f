"""`contactgw events tail`: which topic the filters subscribe to, and the printed line."""

from __future__ import annotations

import pytest

from gateway.subcommands.events import format_line, tail_topic


@pytest.mark.parametrize(
    ("filters", "topic"),
    [
        ({}, "contactgw/#"),
        ({"type": "call.answered"}, "contactgw/call/answered/+/+"),
        ({"type": "io.contactgw.agent.state_changed"}, "contactgw/agent/state_changed/+/+"),
        ({"queue": "sales"}, "contactgw/+/+/sales/+"),
        ({"call": "c-1", "type": "call.ended"}, "contactgw/call/ended/+/c-1"),
    ],
)
def test_filters_become_one_subscription(filters: dict[str, str], topic: str) -> None:
    arguments = {"type": None, "queue": None, "call": None, **filters}
    assert tail_topic("contactgw", **arguments) == topic


def test_wildcards_in_a_filter_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot contain"):
        tail_topic("contactgw", type=None, queue="sa/les", call=None)
    with pytest.raises(ValueError, match="event type"):
        tail_topic("contactgw", type="answered", queue=None, call=None)


def test_one_line_per_event_with_the_data_cut_short() -> None:
    event = {
        "time": "2026-03-01T12:00:00Z",
        "type": "io.contactgw.call.answered",
        "subject": "c-1",
        "data": {"note": "x" * 300},
    }
    line = format_line(event)
    assert line.startswith('2026-03-01T12:00:00Z call.answered c-1 {"note":"xxx')
    assert line.endswith("…") and "\n" not in line and len(line) < 160
