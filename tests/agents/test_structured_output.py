"""Structured output through the scripted server, on both wire formats, in every mode.

The model's answers are scripted; what is checked is what a user relies on: the
request asks for the schema the way the mode says, the answer comes back validated as
the output type, a wrong answer goes back with its errors, and the retries end in
``OutputValidationError`` with the last answer kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from opencode_python import (
    Agent,
    AgentTask,
    ConfigError,
    OpenCodeAsyncClient,
    OpenCodeSyncClient,
    OutputValidationError,
)
from opencode_python.agents import FINAL_TOOL
from opencode_python.core.events import Event
from opencode_python.core.models import TextPart, TokenUsage, ToolPart
from opencode_python.testing import RecordedRequest, ScriptedLLMServer, ScriptedToolCall, Turn

from ..conftest import ClientFactory, scripted_config
from ..tools_for_tests import AddTool

WIRES = ["openai", "anthropic"]
USAGE = TokenUsage(input=10, output=5)


class LineItem(BaseModel):
    name: str
    quantity: int
    price: float


class Invoice(BaseModel):
    """An invoice read from a document."""

    number: str
    customer: str
    items: list[LineItem]


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    tricks: list[str]


INVOICE = {
    "number": "INV-7",
    "customer": "ACME",
    "items": [{"name": "bolt", "quantity": 3, "price": 0.5}],
}


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


def final_call(arguments: dict[str, Any] | None = None, raw: str | None = None) -> Turn:
    call = ScriptedToolCall(FINAL_TOOL, arguments=arguments, raw_arguments=raw)
    return Turn(tool_calls=[call], usage=USAGE)


def declared_tools(request: RecordedRequest) -> dict[str, dict[str, Any]]:
    """Each declared tool's schema, by name, in either wire format."""
    tools = request.body.get("tools") or []
    if request.wire == "openai":
        return {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    return {t["name"]: t["input_schema"] for t in tools}


def last_user_text(request: RecordedRequest) -> str:
    return request.last_user_text


# --- the three modes -----------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
async def test_native_mode_sends_the_schema_and_validates_the_answer(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str
) -> None:
    server.add_turn(Turn(text=json.dumps(INVOICE), usage=USAGE))
    async with make_client(server, wire) as client:
        session = await client.create_session()
        result = await client.prompt(
            session.id, "Read invoice 7", output_type=Invoice, output_mode="native"
        )
    assert result.ok
    assert isinstance(result.output, Invoice)
    assert result.output.items[0].quantity == 3
    assert result.response == json.dumps(INVOICE)  # the text stays the text
    body = server.requests[0].body
    if wire == "openai":
        form = body["response_format"]
        assert form["type"] == "json_schema"
        assert form["json_schema"]["name"] == "Invoice"
        assert form["json_schema"]["strict"] is True
        schema = form["json_schema"]["schema"]
    else:
        schema = body["output_config"]["format"]["schema"]
        assert body["output_config"]["format"]["type"] == "json_schema"
    assert schema["required"] == ["number", "customer", "items"]
    assert schema["additionalProperties"] is False
    assert FINAL_TOOL not in declared_tools(server.requests[0])
    assert result.metadata["output_mode"] == "native"


@pytest.mark.parametrize("wire", WIRES)
async def test_tool_mode_ends_with_the_final_answer_tool(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str
) -> None:
    server.add_turn(final_call(INVOICE))
    async with make_client(server, wire) as client:
        session = await client.create_session()
        result = await client.prompt(
            session.id, "Read invoice 7", output_type=Invoice, output_mode="tool"
        )
        messages = await client.get_messages(session.id)
    assert result.output == Invoice.model_validate(INVOICE)
    assert len(server.requests) == 1  # the accepted call ends the run: no second call
    request = server.requests[0]
    schema = declared_tools(request)[FINAL_TOOL]
    assert set(schema["properties"]) == {"number", "customer", "items"}
    choice = request.body["tool_choice"]
    if wire == "openai":
        assert choice == {"type": "function", "function": {"name": FINAL_TOOL}}
    else:
        assert choice == {"type": "tool", "name": FINAL_TOOL}
    stored = [p for m in messages for p in m.parts if isinstance(p, ToolPart)]
    assert [(p.tool, p.state.status) for p in stored] == [(FINAL_TOOL, "completed")]
    assert stored[0].state.input == INVOICE


@pytest.mark.parametrize("wire", WIRES)
async def test_prompted_mode_puts_the_schema_in_the_system_prompt(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str
) -> None:
    fenced = f"Here it is:\n```json\n{json.dumps(INVOICE)}\n```"
    server.add_turn(Turn(text=fenced, usage=USAGE))
    async with make_client(server, wire) as client:
        session = await client.create_session()
        result = await client.prompt(
            session.id, "Read invoice 7", output_type=Invoice, output_mode="prompted"
        )
    assert result.output == Invoice.model_validate(INVOICE)
    request = server.requests[0]
    assert '"customer"' in request.system_text
    assert "response_format" not in request.body
    assert "output_config" not in request.body
    assert FINAL_TOOL not in declared_tools(request)


@pytest.mark.parametrize(("wire", "mode"), [("openai", "tool"), ("anthropic", "native")])
async def test_the_model_profile_picks_the_mode(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str, mode: str
) -> None:
    """A compatible OpenAI-wire server gets the tool mode; Claude Sonnet 4.5 native."""
    answer = final_call(INVOICE) if mode == "tool" else Turn(text=json.dumps(INVOICE))
    server.add_turn(answer)
    async with make_client(server, wire) as client:
        session = await client.create_session()
        result = await client.prompt(session.id, "Read invoice 7", output_type=Invoice)
    assert result.metadata["output_mode"] == mode
    assert isinstance(result.output, Invoice)


# --- validation and retries ----------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("mode", ["native", "prompted"])
async def test_an_invalid_text_answer_goes_back_with_its_errors(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str, mode: str
) -> None:
    wrong = {**INVOICE, "items": [{"name": "bolt", "quantity": "three", "price": 0.5}]}
    server.add_turns([Turn(text=json.dumps(wrong), usage=USAGE), Turn(text=json.dumps(INVOICE))])
    async with make_client(server, wire) as client:
        session = await client.create_session()
        result = await client.prompt(
            session.id, "Read invoice 7", output_type=Invoice, output_mode=mode
        )
        messages = await client.get_messages(session.id)
    assert result.output == Invoice.model_validate(INVOICE)
    assert result.metadata["output_retries"] == 1
    assert result.steps == 2
    second = last_user_text(server.requests[1])
    assert "items.0.quantity" in second
    assert "valid integer" in second
    assert '"three"' in second
    # the correction is a stored, synthetic user turn between the two answers
    roles = [m.info.role for m in messages]
    assert roles == ["user", "assistant", "user", "assistant"]
    fix = messages[2].parts[0]
    assert isinstance(fix, TextPart)
    assert fix.synthetic


@pytest.mark.parametrize("wire", WIRES)
async def test_an_invalid_final_call_is_a_tool_error_the_model_fixes(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str
) -> None:
    server.add_turns([final_call({"number": "INV-7"}), final_call(INVOICE)])
    async with make_client(server, wire) as client:
        session = await client.create_session()
        result = await client.prompt(
            session.id, "Read invoice 7", output_type=Invoice, output_mode="tool"
        )
    assert result.output == Invoice.model_validate(INVOICE)
    assert result.metadata["output_retries"] == 1
    [(_, text)] = server.requests[1].tool_results
    assert "customer: Field required" in text
    assert "items: Field required" in text
    assert f"Call {FINAL_TOOL} again" in text


@pytest.mark.parametrize("wire", WIRES)
async def test_malformed_final_arguments_are_sent_back_too(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str
) -> None:
    server.add_turns([final_call(raw='{"number": "INV-7", '), final_call(INVOICE)])
    async with make_client(server, wire) as client:
        session = await client.create_session()
        result = await client.prompt(
            session.id, "Read invoice 7", output_type=Invoice, output_mode="tool"
        )
    assert result.output == Invoice.model_validate(INVOICE)
    [(_, text)] = server.requests[1].tool_results
    assert "JSON" in text


@pytest.mark.parametrize("wire", WIRES)
async def test_spent_retries_raise_with_the_last_answer(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str
) -> None:
    server.add_turns([Turn(text="not json at all", usage=USAGE) for _ in range(2)])
    server.add_turn(Turn(text='{"number": 7}', usage=USAGE))
    async with make_client(server, wire) as client:
        session = await client.create_session()
        with pytest.raises(OutputValidationError) as caught:
            await client.prompt(
                session.id, "Read invoice 7", output_type=Invoice, output_mode="native"
            )
        messages = await client.get_messages(session.id)
        stored = await client.get_session(session.id)
    error = caught.value
    assert error.raw == '{"number": 7}'
    assert "number: Input should be a valid string" in error.errors
    assert "after 2 retries" in str(error)
    assert error.result is not None
    assert error.result.steps == 3
    assert error.result.tokens_used.input == 30  # every attempt is counted
    assert stored.usage.input == 30
    assert len(server.requests) == 3
    assert [m.info.role for m in messages].count("assistant") == 3


async def test_retries_can_be_turned_off(
    server: ScriptedLLMServer, make_client: ClientFactory
) -> None:
    server.add_turn(Turn(text="{}"))
    async with make_client(server, "openai") as client:
        session = await client.create_session()
        with pytest.raises(OutputValidationError):
            await client.prompt(
                session.id,
                "Read invoice 7",
                output_type=Invoice,
                output_mode="native",
                output_retries=0,
            )
    assert len(server.requests) == 1


# --- what the output can be ----------------------------------------------------------


class Point(TypedDict):
    x: int
    y: int


@dataclass
class Pair:
    left: str
    right: str


@pytest.mark.parametrize(
    ("output_type", "answer", "expected"),
    [
        (int, {"result": 42}, 42),
        (list[str], {"result": ["a", "b"]}, ["a", "b"]),
        (Literal["low", "high"], {"result": "high"}, "high"),
        (
            Cat | Dog,
            {"result": {"kind": "dog", "tricks": ["sit"]}},
            Dog(kind="dog", tricks=["sit"]),
        ),
        (Point, {"x": 1, "y": 2}, {"x": 1, "y": 2}),
        (Pair, {"left": "l", "right": "r"}, Pair("l", "r")),
        (
            {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
            {"n": 5},
            {"n": 5},
        ),
    ],
    ids=["int", "list", "literal", "union", "typeddict", "dataclass", "json-schema"],
)
@pytest.mark.parametrize("wire", WIRES)
async def test_every_kind_of_output_type(
    server: ScriptedLLMServer,
    make_client: ClientFactory,
    wire: str,
    output_type: Any,
    answer: Any,
    expected: Any,
) -> None:
    server.add_turn(final_call(answer))
    async with make_client(server, wire) as client:
        session = await client.create_session()
        result = await client.prompt(
            session.id, "answer", output_type=output_type, output_mode="tool"
        )
    assert result.output == expected
    schema = declared_tools(server.requests[0])[FINAL_TOOL]
    assert schema["type"] == "object"  # non-object types travel wrapped


async def test_a_union_member_that_fits_neither_is_refused(
    server: ScriptedLLMServer, make_client: ClientFactory
) -> None:
    server.add_turns(
        [
            final_call({"result": {"kind": "cow"}}),
            final_call({"result": {"kind": "cat", "lives": 9}}),
        ]
    )
    async with make_client(server, "openai") as client:
        session = await client.create_session()
        result = await client.prompt(session.id, "a pet", output_type=Cat | Dog, output_mode="tool")
    assert result.output == Cat(kind="cat", lives=9)
    [(_, text)] = server.requests[1].tool_results
    assert "result.kind" in text or "result" in text


async def test_a_type_without_a_schema_is_a_config_error(
    server: ScriptedLLMServer, make_client: ClientFactory
) -> None:
    async with make_client(server, "openai") as client:
        session = await client.create_session()
        with pytest.raises(ConfigError, match="cannot be described as JSON schema"):
            await client.prompt(session.id, "x", output_type=Iterator[int])
        with pytest.raises(ConfigError, match="output_mode must be one of"):
            await client.prompt(session.id, "x", output_type=int, output_mode="json")
        with pytest.raises(ConfigError, match="not a valid JSON schema"):
            await client.prompt(session.id, "x", output_type={"type": 5})
    assert server.requests == []


# --- tools, then the answer ----------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("mode", ["tool", "native"])
async def test_tools_first_then_the_structured_answer(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str, mode: str
) -> None:
    add = ScriptedToolCall("add", {"a": 2, "b": 3})
    answer = final_call({"result": 5}) if mode == "tool" else Turn(text='{"result": 5}')
    server.add_turns([Turn(tool_calls=[add]), answer])
    async with make_client(server, wire) as client:
        await client.register_tool(AddTool())
        session = await client.create_session()
        result = await client.prompt(session.id, "2 + 3?", output_type=int, output_mode=mode)
    assert result.output == 5
    assert result.tools_used == ["add"]
    assert server.requests[1].tool_results[0][1] == "5"
    first = server.requests[0]
    assert "add" in declared_tools(first)
    if mode == "tool":
        expected = "required" if wire == "openai" else {"type": "any"}
        assert first.body["tool_choice"] == expected


async def test_calls_beside_an_accepted_answer_do_not_run(
    server: ScriptedLLMServer, make_client: ClientFactory
) -> None:
    add = ScriptedToolCall("add", {"a": 2, "b": 3})
    final = ScriptedToolCall(FINAL_TOOL, {"result": 5})
    server.add_turn(Turn(tool_calls=[final, add]))
    async with make_client(server, "openai") as client:
        await client.register_tool(AddTool())
        session = await client.create_session()
        result = await client.prompt(session.id, "2 + 3?", output_type=int, output_mode="tool")
        history = await client.get_execution_history(session.id)
    assert result.output == 5
    statuses = {record.tool: (record.status, record.reason) for record in history}
    assert statuses["add"] == ("refused", "final_answer")


async def test_an_agent_carries_its_output_type(
    server: ScriptedLLMServer, make_client: ClientFactory
) -> None:
    server.add_turn(final_call(INVOICE))
    reader = Agent(name="reader", mode="primary", output_type=Invoice, output_mode="tool")
    async with make_client(server, "openai") as client:
        await client.register_agent(reader)
        session = await client.create_session()
        result = await client.prompt(session.id, "Read invoice 7", agent="reader")
    assert isinstance(result.output, Invoice)


# --- streaming -----------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("mode", ["tool", "native"])
async def test_streaming_yields_partial_answers_then_the_validated_one(
    server: ScriptedLLMServer, make_client: ClientFactory, wire: str, mode: str
) -> None:
    text = json.dumps(INVOICE)
    answer = final_call(INVOICE) if mode == "tool" else Turn(text=text)
    answer.chunk_size = 6
    server.add_turn(answer)
    partials: list[Any] = []
    final = None
    async with make_client(server, wire) as client:
        session = await client.create_session()
        async for item in client.stream(
            session.id, "Read invoice 7", output_type=Invoice, output_mode=mode
        ):
            if isinstance(item, Event):
                if item.type == "output.partial":
                    partials.append(item.partial)
            else:
                final = item
    assert final is not None
    assert final.output == Invoice.model_validate(INVOICE)
    assert len(partials) >= 4
    assert partials[-1] == INVOICE
    assert partials[0] != INVOICE
    cut = [p["customer"] for p in partials if p.get("customer") not in (None, "ACME")]
    assert cut  # a string cut short
    assert all("ACME".startswith(c) for c in cut)
    assert any("number" in p and "items" not in p for p in partials)


# --- subagents -----------------------------------------------------------------------


async def test_parallel_tasks_each_get_their_validated_value(
    server: ScriptedLLMServer, make_client: ClientFactory
) -> None:
    server.add_turns(
        [
            Turn(tool_calls=[ScriptedToolCall(FINAL_TOOL, INVOICE)], when="invoice"),
            Turn(tool_calls=[ScriptedToolCall(FINAL_TOOL, {"result": 4})], when="count"),
        ]
    )
    worker = Agent(name="worker", mode="subagent", output_mode="tool")
    async with make_client(server, "openai") as client:
        await client.register_agent(worker)
        session = await client.create_session()
        invoice, count = await client.run_parallel_agents(
            [
                AgentTask(agent_name="worker", prompt="read the invoice", output_type=Invoice),
                AgentTask(agent_name="worker", prompt="count the lines", output_type=int),
            ],
            session.id,
        )
    assert invoice.output == Invoice.model_validate(INVOICE)
    assert count.output == 4


async def test_a_subagent_with_an_output_type_answers_the_task_tool_in_json(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    task = ScriptedToolCall(
        "task", {"description": "read", "prompt": "read the invoice", "subagent_type": "reader"}
    )
    server.add_turns(
        [
            Turn(tool_calls=[task], when="Delegate"),
            Turn(tool_calls=[ScriptedToolCall(FINAL_TOOL, INVOICE)], when="read the invoice"),
            Turn(text="The invoice is for ACME.", when="Delegate"),
        ]
    )
    reader = Agent(name="reader", mode="subagent", output_type=Invoice, output_mode="tool")
    config = scripted_config(server, "openai", tmp_path)
    config.builtin_tools = ["task"]
    async with OpenCodeAsyncClient(config) as client:
        await client.register_agent(reader)
        session = await client.create_session()
        result = await client.prompt(session.id, "Delegate the invoice")
        messages = await client.get_messages(session.id)
    assert result.response == "The invoice is for ACME."
    [part] = [p for m in messages for p in m.parts if isinstance(p, ToolPart)]
    assert part.state.metadata["output"] == INVOICE
    body = part.state.output.split("<task_result>\n", 1)[1].split("\n</task_result>")[0]
    assert json.loads(body) == INVOICE


def test_the_sync_client_returns_the_validated_value(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.add_turn(Turn(text=json.dumps(INVOICE)))
    with OpenCodeSyncClient(scripted_config(server, "anthropic", tmp_path)) as client:
        session = client.create_session()
        result = client.prompt(session.id, "Read invoice 7", output_type=Invoice)
    assert result.output == Invoice.model_validate(INVOICE)
    assert result.metadata["output_mode"] == "native"  # Claude Sonnet 4.5's profile


async def test_a_tool_named_like_the_final_answer_tool_is_a_config_error(
    server: ScriptedLLMServer, make_client: ClientFactory
) -> None:
    class Clash(AddTool):
        id = FINAL_TOOL

    async with make_client(server, "openai") as client:
        await client.register_tool(Clash())
        session = await client.create_session()
        with pytest.raises(ConfigError, match="rename that tool"):
            await client.prompt(session.id, "x", output_type=int, output_mode="tool")
        server.add_turn(Turn(text='{"result": 1}'))
        result = await client.prompt(session.id, "x", output_type=int, output_mode="prompted")
    assert result.output == 1
