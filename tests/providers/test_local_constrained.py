"""Schema-guided tool calls of the local model: ``tool_choice`` "required" or a named tool.

The builder is tested with a fake model (scores and completions from tables); a few
tests run the real SmolLM2 with short caps, one of them through a whole agent run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencode_python import OpenCodeAsyncClient, SDKConfig, tool
from opencode_python.agents import Agent
from opencode_python.core.errors import ConfigError
from opencode_python.providers import (
    ChatMessage,
    ChatRequest,
    Finish,
    ProviderConfig,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallStart,
    ToolSchema,
)
from opencode_python.providers.local_constrained import (
    CALL_START,
    STRING_TOKENS,
    Done,
    ToolChoice,
    constrained_call,
    resolve_tool_choice,
)
from opencode_python.providers.local_model import LoadedModel
from opencode_python.providers.local_provider import (
    MODEL_ID,
    LocalProvider,
    generation_settings,
    load_model,
)
from opencode_python.providers.local_tool_calls import ParsedCall

from ..local_model import needs_local_model

CALCULATOR = ToolSchema(
    "calculator",
    "Evaluate an arithmetic expression.",
    {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
)
WEATHER = ToolSchema(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TOOLS = [CALCULATOR, WEATHER]
REQUIRED = ToolChoice("required")


class FakeModel:
    """Scores from a table (-10 for anything else) and scripted completions, in order.

    A completion is produced one character at a time, as a model produces tokens, and
    ends where the builder's ``done`` says so or at the cap.
    """

    def __init__(
        self, scores: dict[str, float] | None = None, completions: Sequence[str] = ()
    ) -> None:
        self.scores = scores or {}
        self.completions = list(completions)
        self.scored: list[tuple[str, list[str]]] = []
        self.prefixes: list[str] = []
        self.limits: list[int] = []

    def score(self, prefix: str, continuations: Sequence[str]) -> list[float]:
        self.scored.append((prefix, list(continuations)))
        return [self.scores.get(text, -10.0) for text in continuations]

    def complete(self, prefix: str, done: Done, limit: int) -> str:
        self.prefixes.append(prefix)
        self.limits.append(limit)
        text = ""
        for character in self.completions.pop(0)[:limit]:
            text += character
            if done(text):
                break
        return text

    def call(
        self,
        tools: Sequence[ToolSchema] = TOOLS,
        choice: ToolChoice = REQUIRED,
        max_tokens: int = 512,
    ) -> ParsedCall:
        return constrained_call(tools, choice, self.score, self.complete, max_tokens)


def schema(properties: dict[str, Any], required: list[str]) -> ToolSchema:
    parameters = {"type": "object", "properties": properties, "required": required}
    return ToolSchema("act", "Do something.", parameters)


def arguments_of(properties: dict[str, Any], *completions: str, **scores: float) -> Any:
    """The arguments built for one tool whose properties are all required."""
    fake = FakeModel(scores, completions)
    return fake.call([schema(properties, list(properties))]).arguments


# --- tool_choice --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ToolChoice("auto")),
        ("auto", ToolChoice("auto")),
        ("none", ToolChoice("none")),
        ("required", ToolChoice("required")),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            ToolChoice("required", "get_weather"),
        ),
        ({"name": "get_weather"}, ToolChoice("required", "get_weather")),
        ({"type": "function", "name": "get_weather"}, ToolChoice("required", "get_weather")),
    ],
)
def test_tool_choice_takes_openais_forms(value: object, expected: ToolChoice) -> None:
    assert resolve_tool_choice(value, TOOLS) == expected


@pytest.mark.parametrize(
    "value", ["always", "any", 1, {"type": "any"}, {"function": {}}, {"name": ""}, ["calculator"]]
)
def test_an_invalid_tool_choice_names_the_accepted_values(value: object) -> None:
    with pytest.raises(ConfigError, match=r"'auto', 'none', 'required', \{'type': 'function'"):
        resolve_tool_choice(value, TOOLS)


def test_a_named_tool_that_is_not_offered_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"'launch'.*offered: calculator, get_weather"):
        resolve_tool_choice({"name": "launch"}, TOOLS)


def test_without_tools_nothing_can_be_called_whatever_the_choice() -> None:
    assert resolve_tool_choice("required", []) == ToolChoice("none")
    assert resolve_tool_choice({"name": "launch"}, []) == ToolChoice("none")
    with pytest.raises(ConfigError):
        resolve_tool_choice("always", [])


# --- choosing the tool ----------------------------------------------------------------


@pytest.mark.parametrize("tools", [TOOLS, TOOLS[::-1]])
def test_the_tool_is_the_one_whose_name_scores_best(tools: list[ToolSchema]) -> None:
    fake = FakeModel({'"get_weather"': -1.0, '"calculator"': -3.0}, ['Paris"}'])
    assert fake.call(tools) == ParsedCall("get_weather", {"city": "Paris"})
    prefix, continuations = fake.scored[0]
    assert prefix == CALL_START
    assert sorted(continuations) == ['"calculator"', '"get_weather"']


def test_a_single_tool_or_a_named_one_needs_no_scoring() -> None:
    fake = FakeModel({'"calculator"': 0.0}, ["Oslo", "12*7"])
    assert fake.call([WEATHER]).name == "get_weather"
    assert fake.call(choice=ToolChoice("required", "calculator")).name == "calculator"
    assert fake.scored == []


# --- building the arguments ------------------------------------------------------------


def test_each_value_sees_the_call_written_so_far() -> None:
    tool = schema({"city": {"type": "string"}, "days": {"type": "integer"}}, ["city", "days"])
    fake = FakeModel(completions=['Paris", "days": 3}', "3}"])
    assert fake.call([tool]) == ParsedCall("act", {"city": "Paris", "days": 3})
    head = CALL_START + '"act", "arguments": {'
    assert fake.prefixes == [head + '"city": "', head + '"city": "Paris", "days": ']


def test_only_required_properties_are_filled() -> None:
    tool = schema({"path": {"type": "string"}, "limit": {"type": "integer"}}, ["path"])
    assert FakeModel(completions=['a.txt"']).call([tool]).arguments == {"path": "a.txt"}
    no_required = ToolSchema("now", "The time.", {"type": "object", "properties": {}})
    assert FakeModel().call([no_required]).arguments == {}


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ('12 * 7"}', "12 * 7"),
        (r'say \"hi\"" and more', 'say "hi"'),
        ('"', ""),
        ("no closing quote", "no closing quote"),
        ('bad \\escape"', "bad \\escape"),
    ],
)
def test_a_string_ends_at_its_closing_quote(written: str, value: str) -> None:
    assert arguments_of({"s": {"type": "string"}}, written) == {"s": value}


def test_a_string_is_capped() -> None:
    fake = FakeModel(completions=["x" * 100])
    assert fake.call([CALCULATOR]).arguments == {"expression": "x" * STRING_TOKENS}
    fake = FakeModel(completions=["x" * 100])
    assert fake.call([CALCULATOR], max_tokens=5).arguments == {"expression": "xxxxx"}
    assert fake.limits == [5]


@pytest.mark.parametrize(
    ("kind", "written", "value"),
    [
        ("integer", "12, ", 12),
        ("integer", " -4}", -4),
        ("integer", "3.5}", 3),
        ("number", "3.5}", 3.5),
        ("number", "1e3}", 1000.0),
        ("number", "1e999}", 0),
        ("number", "7}", 7),
        ("number", '"seven"', 0),
        ("integer", "many", 0),
    ],
)
def test_a_number_is_the_leading_numeric_match(kind: str, written: str, value: float) -> None:
    arguments = arguments_of({"n": {"type": kind}}, written)
    assert arguments == {"n": value}
    assert type(arguments["n"]) is type(value)


def test_booleans_and_enums_are_chosen_by_likelihood() -> None:
    properties = {
        "metric": {"type": "boolean"},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "mode": {"const": "fast"},
    }
    scores = {"false, ": -0.5, "true, ": -2.0, '"fahrenheit", ': -1.0, '"celsius", ': -4.0}
    fake = FakeModel(scores)
    assert fake.call([schema(properties, list(properties))]).arguments == {
        "metric": False,
        "unit": "fahrenheit",
        "mode": "fast",
    }
    # The last value is scored with the closing brace after it.
    fake = FakeModel({"1}": -2.0, "10}": -1.0})
    assert fake.call([schema({"n": {"enum": [1, 10]}}, ["n"])]).arguments == {"n": 10}


@pytest.mark.parametrize(
    ("property_schema", "written", "value"),
    [
        ({"type": "object"}, '{"x": [1]}, "more"', {"x": [1]}),
        ({"type": "object"}, "[1, 2]}", {}),
        ({"type": "array"}, "[1, 2]}", [1, 2]),
        ({"type": "array"}, "not json", []),
        ({"type": ["array", "null"]}, "[true]}", [True]),
        ({}, '"anything"}', "anything"),
        ({}, "???", None),
    ],
)
def test_other_values_are_kept_only_if_they_parse_as_their_type(
    property_schema: dict[str, Any], written: str, value: Any
) -> None:
    assert arguments_of({"v": property_schema}, written) == {"v": value}


PROPERTY_SCHEMAS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "object"},
        {"type": "array"},
        {"enum": ["a", 1, None]},
        {},
    ]
)


@given(
    st.dictionaries(st.text(min_size=1, max_size=5), PROPERTY_SCHEMAS, min_size=1, max_size=4),
    st.data(),
)
def test_the_arguments_are_always_json_with_every_required_property(
    properties: dict[str, dict[str, Any]], data: st.DataObject
) -> None:
    required = data.draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
    completions = data.draw(st.lists(st.text(max_size=20), min_size=len(required)))
    fake = FakeModel(completions=completions)
    arguments = fake.call([schema(properties, required)]).arguments
    assert list(json.loads(json.dumps(arguments, allow_nan=False))) == required
    for key in required:
        kind = properties[key].get("type")
        expected = {"string": str, "boolean": bool, "object": dict, "array": list}.get(kind)
        if expected is not None:
            assert isinstance(arguments[key], expected)
        if kind in ("integer", "number"):
            assert isinstance(arguments[key], int | float)


# --- the provider, without the model -----------------------------------------------------


def test_tool_choice_is_not_an_argument_for_generate() -> None:
    request = ChatRequest(model=MODEL_ID, messages=[], options={"tool_choice": "required"})
    assert generation_settings(request, {"tool_choice": "none"}) == {"do_sample": False}


async def test_an_invalid_tool_choice_fails_before_the_model_loads(tmp_path: Path) -> None:
    provider = LocalProvider(
        ProviderConfig(provider_id="local", options={"tool_choice": "always"}),
        model_path=tmp_path / "no.gguf",
    )
    with pytest.raises(ConfigError, match="tool_choice must be"):
        await _collect(provider, _request("hi", tools=TOOLS))


# --- the real model ------------------------------------------------------------------------


def _request(text: str, **fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL_ID, messages=[ChatMessage("user", [TextBlock(text)])], **fields)


async def _collect(provider: LocalProvider, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in provider.stream(request)]


@pytest.fixture(scope="module")
def local_model() -> LoadedModel:
    """Loads the real model once for this module (later loads hit the process cache)."""
    return load_model(None)


def _the_call(events: list[StreamEvent]) -> tuple[str, dict[str, Any], Finish]:
    """The one call of a well-formed constrained answer, its arguments and the finish."""
    start, call, finish = events
    assert isinstance(start, ToolCallStart)
    assert isinstance(call, ToolCall)
    assert isinstance(finish, Finish)
    assert (start.call_id, start.name) == (call.call_id, call.name)
    assert call.call_id.startswith("call_")
    assert finish.reason == "tool_calls"
    assert finish.usage.input > 10
    assert finish.usage.output > 0
    arguments = json.loads(call.arguments)
    assert isinstance(arguments, dict)
    return call.name, arguments, finish


@needs_local_model
@pytest.mark.usefixtures("local_model")
@pytest.mark.parametrize("tools", [TOOLS, TOOLS[::-1]])
async def test_the_real_model_makes_the_required_call(tools: list[ToolSchema]) -> None:
    request = _request(
        "What is 12 times 7? Use the calculator.",
        tools=tools,
        options={"tool_choice": "required"},
        max_output_tokens=24,
    )
    events = await _collect(LocalProvider(ProviderConfig(provider_id="local")), request)
    name, arguments, _ = _the_call(events)
    assert name == "calculator"  # picked by likelihood, whichever tool is listed first
    assert list(arguments) == ["expression"]
    assert isinstance(arguments["expression"], str)
    assert "12" in arguments["expression"]


@needs_local_model
@pytest.mark.usefixtures("local_model")
async def test_the_real_model_calls_the_named_tool() -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    request = _request(
        "What is the weather in Paris?",
        tools=TOOLS,
        options={"tool_choice": choice},
        max_output_tokens=24,
    )
    events = await _collect(LocalProvider(ProviderConfig(provider_id="local")), request)
    name, arguments, _ = _the_call(events)
    assert (name, list(arguments)) == ("get_weather", ["city"])


@needs_local_model
@pytest.mark.usefixtures("local_model")
async def test_with_tool_choice_none_the_real_model_answers_in_text() -> None:
    request = _request(
        "What is 12 times 7? Use the calculator.",
        tools=TOOLS,
        options={"tool_choice": "none"},
        max_output_tokens=24,
    )
    *body, finish = await _collect(LocalProvider(ProviderConfig(provider_id="local")), request)
    assert body
    assert all(isinstance(event, TextDelta) for event in body)
    assert isinstance(finish, Finish)
    assert finish.reason in ("stop", "length")


@needs_local_model
async def test_cancelling_a_required_call_frees_the_model(
    local_model: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    scoring = asyncio.Event()
    score = local_model.score

    def signalling_score(*args: Any) -> tuple[list[float], int]:
        loop.call_soon_threadsafe(scoring.set)
        return score(*args)

    monkeypatch.setattr(local_model, "score", signalling_score)
    provider = LocalProvider(ProviderConfig(provider_id="local"))
    request = _request("Count to ten.", tools=TOOLS, options={"tool_choice": "required"})
    task = asyncio.create_task(_collect(provider, request))
    await scoring.wait()  # the call is under way: the tool is being chosen
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert local_model.lock.acquire(blocking=False)
    local_model.lock.release()


@needs_local_model
@pytest.mark.usefixtures("local_model")
async def test_an_agent_with_tool_choice_required_calls_then_answers(tmp_path: Path) -> None:
    calls: list[str] = []

    @tool
    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression such as 2 + 2.

        Args:
            expression: The expression to evaluate.
        """
        calls.append(expression)
        return "84"

    agent = Agent(
        name="math",
        prompt="You are a helpful assistant. Use the calculator for arithmetic.",
        options={"tool_choice": "required"},
        steps=2,
    )
    config = SDKConfig(
        storage_path=tmp_path / "data",
        project_dir=tmp_path,
        model=f"local/{MODEL_ID}",
        builtin_tools=False,
        memory_embedder="none",
        providers={"local": {"models": {MODEL_ID: {"max_output": 48}}}},
    )
    async with OpenCodeAsyncClient(config) as client:
        await client.register_tool(calculator)
        session = await client.create_session()
        result = await client.prompt(
            session.id, "What is 12 times 7? Use the calculator.", agent=agent
        )
    assert result.ok, result.error
    assert result.tools_used == ["calculator"]
    assert len(calls) == 1
    assert calls[0].strip()
    assert result.steps == 2
    assert result.response.strip()  # the last step, without tools, answers in text
