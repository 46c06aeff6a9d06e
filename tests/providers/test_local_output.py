"""Structured output of the local model: JSON built under a schema (``constrained_json``).

The walker is tested with fake models (scores from a table or a rule, scripted
completions); every value it builds must validate against its schema, whatever the
model says. Two tests run the real SmolLM2 through the provider with short caps.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter

from opencode_python import OpenCodeAsyncClient, SDKConfig
from opencode_python.providers import (
    ChatMessage,
    ChatRequest,
    Finish,
    OutputFormat,
    ProviderConfig,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallStart,
    ToolResultBlock,
    ToolSchema,
)
from opencode_python.providers.local_constrained import (
    CALL_START,
    MAX_DEPTH,
    MAX_ITEMS,
    Done,
    ToolChoice,
    constrained_call,
    constrained_json,
)
from opencode_python.providers.local_info import MODEL_ID
from opencode_python.providers.local_model import LoadedModel
from opencode_python.providers.local_provider import (
    LocalProvider,
    load_model,
    output_prompt,
    to_chat,
)

from ..local_model import needs_local_model
from .test_local_constrained import FakeModel


class RuleModel(FakeModel):
    """A ``FakeModel`` whose scores follow a rule on the prefix and the continuation."""

    def __init__(self, rule: Callable[[str, str], float], completions: Sequence[str] = ()) -> None:
        super().__init__(completions=completions)
        self.rule = rule

    def score(self, prefix: str, continuations: Sequence[str]) -> list[float]:
        self.scored.append((prefix, list(continuations)))
        return [self.rule(prefix, text) for text in continuations]


def build(schema: dict[str, Any], model: FakeModel, max_tokens: int = 512) -> Any:
    """The value built for ``schema``, checked against it."""
    value = constrained_json(schema, model.score, model.complete, max_tokens)
    jsonschema.validate(value, schema)
    json.dumps(value, allow_nan=False)
    return value


def items_while(count: int) -> Callable[[str, str], float]:
    """A rule that opens and continues arrays until they hold ``count`` items."""

    def rule(prefix: str, text: str) -> float:
        if text == "]":
            return -1.0
        return 0.0 if _items(prefix) < count else -5.0

    return rule


def _items(prefix: str) -> int:
    """How many items the innermost array open at the end of ``prefix`` holds."""
    commas: list[int | None] = []  # per open container: an array's commas, None for objects
    quoted = escaped = False
    for char in prefix:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "[{":
            commas.append(0 if char == "[" else None)
        elif char in "]}":
            commas.pop()
        elif char == "," and commas and commas[-1] is not None:
            commas[-1] += 1
    count = next(c for c in reversed(commas) if c is not None)
    return count + (not prefix.endswith("["))


# --- nested models -----------------------------------------------------------------------


class Customer(BaseModel):
    name: str
    email: str | None = None


class LineItem(BaseModel):
    name: str
    quantity: int
    price: float


class Invoice(BaseModel):
    number: str
    customer: Customer
    items: list[LineItem]


INVOICE = Invoice.model_json_schema()


def test_a_nested_model_is_written_through_its_refs() -> None:
    completions = ['A-1"', 'Alice"', 'apple"', "2,", "0.5}", 'melon"', "1,", "3}"]
    model = RuleModel(items_while(2), completions)
    value = build(INVOICE, model)
    assert Invoice.model_validate(value) == Invoice(
        number="A-1",
        customer=Customer(name="Alice"),
        items=[
            LineItem(name="apple", quantity=2, price=0.5),
            LineItem(name="melon", quantity=1, price=3),
        ],
    )
    # The model sees the answer as it is written, in the JSON the caller gets.
    last = model.prefixes[-1]
    assert last == json.dumps(value)[: len(last)]
    assert model.prefixes[:3] == [
        '{"number": "',
        '{"number": "A-1", "customer": {"name": "',
        '{"number": "A-1", "customer": {"name": "Alice"}, "items": [{"name": "',
    ]


def test_each_array_item_is_decided_by_its_opening_then_by_comma_or_bracket() -> None:
    schema = TypeAdapter(list[LineItem]).json_schema()
    model = RuleModel(items_while(2), ['a"', "1,", "1}", 'b"', "2,", "2}"])
    assert len(build(schema, model)) == 2
    decisions = [continuations for _, continuations in model.scored]
    assert decisions == [['{"', "]"], [", ", "]"], [", ", "]"]]


@pytest.mark.parametrize(
    ("bounds", "wanted", "expected", "asked"),
    [
        ({}, 0, 0, 1),
        ({}, 100, MAX_ITEMS, MAX_ITEMS),
        ({"min_length": 2}, 0, 2, 1),
        ({"max_length": 3}, 100, 3, 3),
        ({"min_length": 1, "max_length": 1}, 100, 1, 0),
        ({"min_length": MAX_ITEMS + 2}, 0, MAX_ITEMS + 2, 0),
    ],
)
def test_arrays_keep_within_min_and_max_items(
    bounds: dict[str, int], wanted: int, expected: int, asked: int
) -> None:
    schema = TypeAdapter(Annotated[list[int], Field(**bounds)]).json_schema()
    model = RuleModel(items_while(wanted), ["7,"] * 20)
    assert build(schema, model) == [7] * expected
    assert len(model.scored) == asked


def test_an_array_stops_growing_once_the_answer_is_long() -> None:
    schema = TypeAdapter(list[str]).json_schema()
    model = RuleModel(items_while(100), ["x" * 10 + '"'] * 20)
    # "[" and three items of 12 characters pass 30 characters, about 10 tokens.
    assert len(build(schema, model, max_tokens=10)) == 3


def test_a_tuple_has_its_items_in_place_and_a_set_no_repeats() -> None:
    pair = TypeAdapter(tuple[int, str]).json_schema()
    assert build(pair, RuleModel(items_while(5), ["4,", 'four"'])) == [4, "four"]
    numbers = TypeAdapter(set[int]).json_schema()
    assert build(numbers, RuleModel(items_while(5), ["1,", "2,", "1,"])) == [1, 2]


def test_a_map_takes_keys_and_values_from_the_model() -> None:
    schema = TypeAdapter(dict[str, int]).json_schema()

    def rule(prefix: str, text: str) -> float:
        return -1.0 if text == "}" else (0.0 if prefix.count(":") < 2 else -5.0)

    model = RuleModel(rule, ['apples"', "3,", 'pears"', "4}"])
    assert build(schema, model) == {"apples": 3, "pears": 4}
    assert model.prefixes[2] == '{"apples": 3, "'


# --- unions, enums, numbers -----------------------------------------------------------------


class Contact(BaseModel):
    nickname: str | None
    customer: Customer | None


@pytest.mark.parametrize(
    ("scores", "completions", "expected"),
    [
        ({"null": 0.0}, [], {"nickname": None, "customer": None}),
        (
            {'"': 0.0, '{"': 0.0},
            ['Al"', 'Alice"'],
            {"nickname": "Al", "customer": {"name": "Alice"}},
        ),
    ],
)
def test_an_optional_field_is_null_or_a_value_by_likelihood(
    scores: dict[str, float], completions: list[str], expected: dict[str, Any]
) -> None:
    schema = Contact.model_json_schema()
    assert build(schema, FakeModel(scores, completions)) == expected


class Cat(BaseModel):
    kind: Literal["cat"]
    meow: bool


class Dog(BaseModel):
    kind: Literal["dog"]
    volume: int


class Pet(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]


class Person(BaseModel):
    name: str
    age: int


class Company(BaseModel):
    name: str
    employees: int


def test_a_tagged_union_is_chosen_by_its_tag() -> None:
    model = FakeModel({'{"': 0.0, '{"kind": "dog"': -1.0, '{"kind": "cat"': -3.0}, ["12}"])
    value = build(Pet.model_json_schema(), model)
    assert Pet.model_validate(value).pet == Dog(kind="dog", volume=12)
    assert model.prefixes == ['{"pet": {"kind": "dog", "volume": ']


def test_an_untagged_union_is_chosen_by_the_property_only_one_branch_has() -> None:
    schema = TypeAdapter(Person | Company).json_schema()
    model = FakeModel({'{"employees": ': -1.0, '{"age": ': -2.0}, ["40,", 'Acme"'])
    assert build(schema, model) == {"employees": 40, "name": "Acme"}
    assert model.prefixes == ['{"employees": ', '{"employees": 40, "name": "']
    person = build(schema, FakeModel({'{"age": ': -1.0}, ["30,", 'Bo"']))
    assert TypeAdapter(Person | Company).validate_python(person) == Person(name="Bo", age=30)


def test_a_union_of_kinds_is_chosen_by_the_first_token() -> None:
    schema = TypeAdapter(int | str | list[int] | None).json_schema()
    assert build(schema, FakeModel({"7": 0.0}, ["7]"])) == 7
    assert build(schema, FakeModel({'"': 0.0}, ['seven"'])) == "seven"
    assert build(schema, FakeModel({"[": 0.0, "]": -1.0})) == []
    assert build(schema, FakeModel({"null": 0.0})) is None
    assert build({"type": ["boolean", "null"]}, FakeModel({"true": -1.0, "null": -2.0})) is True


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Paint(BaseModel):
    colour: Colour
    finish: Literal["matte", "gloss"]
    brand: Literal["Acme"]


def test_enums_and_literals_are_chosen_by_likelihood() -> None:
    model = FakeModel({'"green", ': -1.0, '"red", ': -2.0, '"gloss", ': -1.0})
    assert build(Paint.model_json_schema(), model) == {
        "colour": "green",
        "finish": "gloss",
        "brand": "Acme",
    }


class Measure(BaseModel):
    count: int
    weight: float


@pytest.mark.parametrize(
    ("written", "expected"),
    [(["3.7,", "3.7}"], {"count": 3, "weight": 3.7}), (["x", "-2}"], {"count": 0, "weight": -2})],
)
def test_integers_and_numbers_keep_their_kind(
    written: list[str], expected: dict[str, float]
) -> None:
    value = build(Measure.model_json_schema(), FakeModel(completions=written))
    assert value == expected
    assert type(value["count"]) is int


# --- recursion ---------------------------------------------------------------------------


class Node(BaseModel):
    value: int
    next: Node | None


class Tree(BaseModel):
    label: str
    children: list[Tree]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def test_recursion_ends_at_the_depth_cap_with_the_emptiest_value() -> None:
    schema = TypeAdapter(Node).json_schema()  # a $ref at the root
    model = FakeModel({'{"': 0.0}, ["1,"] * 20)
    value = build(schema, model)
    assert _depth(value) == MAX_DEPTH + 2  # the last object stands in, with null after it
    node = value
    while node["next"] is not None:
        node = node["next"]
    assert node == {"value": 0, "next": None}
    assert len(model.prefixes) == MAX_DEPTH + 1  # the stand-in asks nothing

    tree = build(TypeAdapter(Tree).json_schema(), RuleModel(items_while(1), ['t"'] * 20))
    assert _depth(tree) <= MAX_DEPTH + 2


def test_a_schema_that_nests_without_end_still_ends() -> None:
    endless = {"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]}
    value = constrained_json(endless, FakeModel().score, FakeModel().complete, 64)
    assert isinstance(value, dict)
    circle = {
        "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
        "$ref": "#/$defs/A",
    }
    fake = FakeModel(completions=["5 "])
    assert constrained_json(circle, fake.score, fake.complete, 64) == 5  # a circle: anything


# --- any schema, any model ------------------------------------------------------------------

LEAVES = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"enum": ["a", 1, None]},
        {"const": "fixed"},
        {"type": ["integer", "null"]},
        {"type": "object"},
        {"type": "array"},
        {},
    ]
)
KEYS = st.text("abcxyz", min_size=1, max_size=3)


def _containers(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    objects = st.dictionaries(KEYS, children, max_size=3).flatmap(
        lambda properties: st.lists(st.sampled_from(sorted(properties) or [""]), unique=True).map(
            lambda required: {
                "type": "object",
                "properties": properties,
                "required": [key for key in required if key in properties],
            }
        )
    )
    arrays = st.builds(
        lambda items, low, extra: (
            {"type": "array", "items": items, "minItems": low}
            | ({} if extra is None else {"maxItems": low + extra})
        ),
        children,
        st.integers(0, 2),
        st.none() | st.integers(0, 3),
    )
    unions = st.lists(children, min_size=2, max_size=3).map(lambda options: {"anyOf": options})
    maps = children.map(lambda values: {"type": "object", "additionalProperties": values})
    return objects | arrays | unions | maps


MODELS: list[type[BaseModel]] = [Invoice, Contact, Pet, Paint, Measure, Node, Tree]
SCHEMAS = st.recursive(LEAVES, _containers, max_leaves=8) | st.sampled_from(
    [TypeAdapter(model).json_schema() for model in MODELS]
)


class DrawnModel(FakeModel):
    """Scores and completions drawn by hypothesis, as many as the walker asks for."""

    def __init__(self, data: st.DataObject) -> None:
        super().__init__()
        self.data = data

    def score(self, prefix: str, continuations: Sequence[str]) -> list[float]:
        scores = st.floats(-20, 0)
        return [self.data.draw(scores) for _ in continuations]

    def complete(self, prefix: str, done: Done, limit: int) -> str:
        self.completions = [self.data.draw(st.text(max_size=12))]
        return super().complete(prefix, done, limit)


@settings(max_examples=200, deadline=None)
@given(SCHEMAS, st.data())
def test_the_value_always_validates_against_its_schema(
    schema: dict[str, Any], data: st.DataObject
) -> None:
    build(schema, DrawnModel(data), max_tokens=data.draw(st.integers(1, 200)))


def test_tool_arguments_with_nested_objects_follow_their_schema() -> None:
    class Move(BaseModel):
        to: Customer
        items: list[LineItem]

    parameters = Move.model_json_schema()
    tool = ToolSchema("move", "Move items to a customer.", parameters)
    model = RuleModel(items_while(1), ['Bo"', 'pen"', "3,", "1.5}"])
    call = constrained_call([tool], ToolChoice("required"), model.score, model.complete, 512)
    assert Move.model_validate(call.arguments) == Move(
        to=Customer(name="Bo"), items=[LineItem(name="pen", quantity=3, price=1.5)]
    )
    assert model.prefixes[0] == CALL_START + '"move", "arguments": {"to": {"name": "'


# --- the prompt ---------------------------------------------------------------------------


def _request(text: str, **fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL_ID, messages=[ChatMessage("user", [TextBlock(text)])], **fields)


INVOICE_OUTPUT = OutputFormat("Invoice", INVOICE)
WEATHER = ToolSchema(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def test_the_schema_is_shown_compact_and_without_titles() -> None:
    prompt = output_prompt(INVOICE_OUTPUT)
    assert prompt.startswith("answer with only a JSON object of this schema: {")
    schema = json.loads(prompt.split(": ", 1)[1])
    assert "title" not in json.dumps(schema)
    assert schema["$defs"]["LineItem"]["required"] == ["name", "quantity", "price"]
    titled = OutputFormat(
        "Book", {"properties": {"title": {"type": "string"}}}, description="a book"
    )
    assert output_prompt(titled) == (
        'answer with only a JSON object (a book) of this schema: {"properties":{"title":'
        '{"type":"string"}}}'
    )


def test_the_system_prompt_asks_for_json_alone_or_after_the_tools() -> None:
    system, _ = to_chat(_request("Bill Alice.", system=["Be brief."], output=INVOICE_OUTPUT))
    assert system.startswith("Be brief.\n\nAnswer with only a JSON object of this schema: {")
    assert system.endswith("}.")
    system, _ = to_chat(_request("Bill Alice.", tools=[WEATHER], output=INVOICE_OUTPUT))
    assert "\nOtherwise answer with only a JSON object of this schema: {" in system
    assert "plain text" not in system


def test_after_tool_results_the_request_is_restated_asking_for_json() -> None:
    messages = [
        ChatMessage("user", [TextBlock("Weather in Paris?")]),
        ChatMessage("assistant", [ToolCallBlock("c1", "get_weather", {"city": "Paris"})]),
        ChatMessage("tool", [ToolResultBlock("c1", "get_weather", "Sunny")]),
    ]
    request = ChatRequest(model=MODEL_ID, messages=messages, tools=[WEATHER])
    assert to_chat(request)[1][-1]["content"].endswith(
        "Using the result above, answer in plain text: Weather in Paris?"
    )
    request.output = INVOICE_OUTPUT
    assert to_chat(request)[1][-1]["content"].endswith(
        "Using the result above, answer with only the JSON object: Weather in Paris?"
    )


# --- the real model --------------------------------------------------------------------------


async def _collect(provider: LocalProvider, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in provider.stream(request)]


@pytest.fixture(scope="module")
def local_model() -> LoadedModel:
    """Loads the real model once for this module (later loads hit the process cache)."""
    return load_model(None)


def _the_json(events: list[StreamEvent]) -> str:
    """The text of a well-formed JSON answer: text, then a "stop" with its usage."""
    *body, finish = events
    assert body
    assert all(isinstance(event, TextDelta) for event in body)
    assert isinstance(finish, Finish)
    assert finish.reason == "stop"
    assert finish.usage.input > 100  # the schema is in the prompt
    assert finish.usage.output > 0
    return "".join(event.text for event in body if isinstance(event, TextDelta))


@needs_local_model
@pytest.mark.usefixtures("local_model")
async def test_the_real_model_answers_with_a_valid_nested_object() -> None:
    request = _request(
        "Write invoice A-7 for Alice Smith: 2 apples at 0.5 each and 1 melon at 3.",
        output=INVOICE_OUTPUT,
        max_output_tokens=40,
    )
    text = _the_json(await _collect(LocalProvider(ProviderConfig(provider_id="local")), request))
    invoice = Invoice.model_validate_json(text)
    assert "Alice" in invoice.customer.name


class Weather(BaseModel):
    city: str
    temperature: float


@needs_local_model
@pytest.mark.usefixtures("local_model")
async def test_the_real_model_with_a_tool_calls_it_or_answers_in_json() -> None:
    request = _request(
        "What is the weather in Paris?",
        tools=[WEATHER],
        output=OutputFormat("Weather", Weather.model_json_schema()),
        max_output_tokens=24,
    )
    events = await _collect(LocalProvider(ProviderConfig(provider_id="local")), request)
    if isinstance(events[0], TextDelta):
        Weather.model_validate_json(_the_json(events))
        return
    start, call, finish = events
    assert isinstance(start, ToolCallStart)
    assert isinstance(call, ToolCall)
    assert isinstance(finish, Finish)
    assert (start.name, call.name, finish.reason) == ("get_weather", "get_weather", "tool_calls")
    assert list(json.loads(call.arguments)) == ["city"]


@needs_local_model
async def test_cancelling_a_json_answer_frees_the_model(
    local_model: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    completing = asyncio.Event()
    complete = local_model.complete

    def signalling_complete(*args: Any, **kwargs: Any) -> tuple[str, int]:
        loop.call_soon_threadsafe(completing.set)
        return complete(*args, **kwargs)

    monkeypatch.setattr(local_model, "complete", signalling_complete)
    provider = LocalProvider(ProviderConfig(provider_id="local"))
    task = asyncio.create_task(_collect(provider, _request("Bill Alice.", output=INVOICE_OUTPUT)))
    await completing.wait()  # the answer is under way: its first value is being written
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert local_model.lock.acquire(blocking=False)
    local_model.lock.release()


class _Customer(BaseModel):
    name: str
    city: str


class _Line(BaseModel):
    item: str
    quantity: int


class _Order(BaseModel):
    customer: _Customer
    lines: list[_Line]
    paid: bool


@needs_local_model
async def test_a_real_run_on_the_local_model_returns_a_valid_nested_instance(
    tmp_path: Path,
) -> None:
    """Through the client, as an app would: the profile picks native mode, and the
    135M model's answer is an instance of the nested model, first time."""
    config = SDKConfig(
        storage_path=tmp_path / "data",
        project_dir=tmp_path,
        model=f"local/{MODEL_ID}",
        builtin_tools=False,
        memory_embedder="none",
        providers={"local": {"models": {MODEL_ID: {"max_output": 48}}}},
    )
    async with OpenCodeAsyncClient(config) as client:
        session = await client.create_session()
        result = await client.prompt(
            session.id,
            "Alice from Paris ordered 3 apples and 2 pears, and paid.",
            output_type=_Order,
        )
    assert result.ok, result.error
    assert isinstance(result.output, _Order)
    assert result.output.lines
    assert result.metadata["output_mode"] == "native"
    assert result.metadata["output_retries"] == 0
    assert _Order.model_validate_json(result.response) == result.output
