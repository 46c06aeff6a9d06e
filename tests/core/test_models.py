import pytest
from pydantic import ValidationError

from opencode_python.core.models import (
    Message,
    MessageWithParts,
    StepFinishPart,
    TextPart,
    TokenUsage,
    ToolPart,
    ToolState,
    parse_part,
)


def test_token_usage_accepts_cache_as_a_dict_and_adds_up() -> None:
    usage = TokenUsage(input=100, output=50, reasoning=20, cache={"read": 10, "write": 5})
    assert usage.cache.read == 10
    assert usage.cache.write == 5
    assert usage.total == 185
    doubled = usage + usage
    assert doubled.input == 200
    assert doubled.cache.write == 10


def test_parts_round_trip_through_json_by_type() -> None:
    tool = ToolPart(
        session_id="ses_x",
        message_id="msg_x",
        call_id="call_1",
        tool="read",
        state=ToolState(status="completed", input={"path": "a.py"}, output="1: x"),
    )
    finish = StepFinishPart(
        session_id="ses_x", message_id="msg_x", reason="stop", usage=TokenUsage(input=3), cost=0.5
    )
    for part in (tool, finish, TextPart(session_id="s", message_id="m", text="hi")):
        again = parse_part(part.model_dump_json())
        assert type(again) is type(part)
        assert again == part


def test_unknown_part_type_and_role_are_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_part({"type": "nope", "session_id": "s", "message_id": "m"})
    with pytest.raises(ValidationError):
        Message(session_id="s", role="system")  # type: ignore[arg-type]


def test_message_text_joins_its_text_parts_only() -> None:
    info = Message(session_id="s", role="assistant")
    parts = [
        TextPart(session_id="s", message_id=info.id, text="Hello "),
        ToolPart(session_id="s", message_id=info.id, call_id="c", tool="t"),
        TextPart(session_id="s", message_id=info.id, text="world"),
        TextPart(session_id="s", message_id=info.id, text="(hidden)", synthetic=True),
    ]
    assert MessageWithParts(info=info, parts=parts).text == "Hello world"
