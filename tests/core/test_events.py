import logging

import pytest

from opencode_python.core.events import Event, EventBus


async def test_wildcards_route_events_and_unsubscribe_stops_them() -> None:
    bus = EventBus()
    seen: dict[str, list[str]] = {"all": [], "message": [], "exact": []}
    bus.subscribe("*", lambda e: seen["all"].append(e.type))
    unsubscribe = bus.subscribe("message.*", lambda e: seen["message"].append(e.type))
    bus.subscribe("session.created", lambda e: seen["exact"].append(e.type))

    await bus.publish("message.part.delta", {})
    await bus.publish("session.created", {})
    unsubscribe()
    unsubscribe()  # twice is harmless
    await bus.publish("message.updated", {})

    assert seen["all"] == ["message.part.delta", "session.created", "message.updated"]
    assert seen["message"] == ["message.part.delta"]
    assert seen["exact"] == ["session.created"]


async def test_async_handlers_are_awaited_in_order_and_may_publish() -> None:
    bus = EventBus()
    order: list[str] = []

    async def first(event: Event) -> None:
        order.append(f"first:{event.type}")
        if event.type == "a":
            await bus.publish("b", {"from": "a"})

    def second(event: Event) -> None:
        order.append(f"second:{event.type}")

    bus.subscribe("*", first)
    bus.subscribe("*", second)
    await bus.publish("a", {})
    assert order == ["first:a", "first:b", "second:b", "second:a"]


async def test_a_failing_handler_is_logged_and_breaks_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    delivered: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe("*", broken)
    bus.subscribe("*", lambda e: delivered.append(e.type))
    with caplog.at_level(logging.ERROR):
        event = await bus.publish("x", {"k": 1}, session_id="ses_1")
    assert delivered == ["x"]
    assert event.session_id == "ses_1"
    assert "boom" in caplog.text
