"""``@tool``: schemas from type hints, descriptions from docstrings, validated calls."""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from opencode_python.core.errors import ConfigError, ToolArgumentsError, ToolError
from opencode_python.tools.decorator import FunctionTool, tool
from opencode_python.tools.executor import CallScope, ToolExecutionManager
from opencode_python.tools.framework import Tool, ToolContext, ToolRegistry, ToolResult


def make_ctx() -> ToolContext:
    return ToolContext(session_id="ses_1", message_id="msg_1", agent="build", call_id="call_1")


class Address(BaseModel):
    street: str
    city: str = "Berlin"


@tool
def add(a: int, b: int = 2) -> int:
    """Add two numbers.

    A second paragraph the model does not need.

    Args:
        a: The first number, which the source
            wraps over two lines.
        b: The second number.
    """
    return a + b


@tool(id="ship", description="Ship a parcel to an address.")
async def ship_parcel(address: Address, weight: Annotated[float, Field(gt=0, le=30)]) -> str:
    """Ignored for the description.

    Args:
        address: Where it goes.
        weight: In kilograms.
    """
    return f"{weight} kg to {address.street}, {address.city}"


@tool
def whoami(prefix: str, run: ToolContext) -> str:
    """Say which agent runs the call."""
    return f"{prefix} {run.agent} {run.call_id}"


def test_decorator_returns_a_tool_instance_with_id_and_description() -> None:
    assert isinstance(add, FunctionTool)
    assert isinstance(add, Tool)
    assert add.id == "add"
    assert add.description == "Add two numbers."
    assert ship_parcel.id == "ship"
    assert ship_parcel.description == "Ship a parcel to an address."
    assert type(add) is not type(ship_parcel)  # each tool its own id, as class attributes
    assert "add" in repr(add)


def test_schema_comes_from_the_hints_with_docstring_descriptions() -> None:
    schema = add.parameters()
    assert schema == {
        "type": "object",
        "properties": {
            "a": {
                "type": "integer",
                "description": "The first number, which the source wraps over two lines.",
            },
            "b": {"type": "integer", "default": 2, "description": "The second number."},
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    Draft202012Validator.check_schema(schema)


def test_nested_model_and_annotated_constraints_give_a_valid_schema() -> None:
    schema = ship_parcel.parameters()
    Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["address", "weight"]
    weight = schema["properties"]["weight"]
    assert weight["exclusiveMinimum"] == 0
    assert weight["maximum"] == 30
    ref = schema["properties"]["address"]["$ref"]
    assert ref == "#/$defs/Address"
    assert schema["$defs"]["Address"]["required"] == ["street"]
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"address": {"street": "Main 1"}, "weight": 2})
    assert not validator.is_valid({"address": {}, "weight": 2})
    assert "title" not in schema
    assert "title" not in schema["properties"]["weight"]


def test_context_parameter_is_injected_and_hidden_from_the_schema() -> None:
    assert list(whoami.parameters()["properties"]) == ["prefix"]
    result = asyncio.run(whoami.execute({"prefix": "agent"}, make_ctx()))
    assert result.output == "agent build call_1"


async def test_sync_function_runs_in_a_worker_thread() -> None:
    seen: list[threading.Thread] = []

    @tool
    def where() -> str:
        """Record the thread it runs in."""
        seen.append(threading.current_thread())
        return "ok"

    result = await where.execute({}, make_ctx())
    assert result.output == "ok"
    assert seen[0] is not threading.main_thread()


async def test_async_function_is_awaited_with_validated_values() -> None:
    result = await ship_parcel.execute(
        {"address": {"street": "Main 1"}, "weight": "2.5"}, make_ctx()
    )
    assert result.output == "2.5 kg to Main 1, Berlin"


async def test_defaults_fill_missing_optional_arguments() -> None:
    assert (await add.execute({"a": 1}, make_ctx())).output == "3"
    assert (await add.execute({"a": 1, "b": 5}, make_ctx())).output == "6"


async def test_optional_parameter_with_none_default() -> None:
    @tool
    def greet(name: str | None = None, style: Literal["short", "long"] = "short") -> str:
        """Greet someone."""
        return f"{style}:{name or 'stranger'}"

    schema = greet.parameters()
    assert schema["required"] == []
    assert schema["properties"]["style"]["enum"] == ["short", "long"]
    assert (await greet.execute({}, make_ctx())).output == "short:stranger"
    assert (await greet.execute({"name": "Ada", "style": "long"}, make_ctx())).output == (
        "long:Ada"
    )


async def test_invalid_arguments_raise_a_message_naming_each_field() -> None:
    with pytest.raises(ToolArgumentsError) as caught:
        await ship_parcel.execute({"address": {"city": "Rome"}, "weight": 99, "x": 1}, make_ctx())
    message = str(caught.value)
    assert message.startswith("The arguments for tool 'ship' are not valid: ")
    assert "address/street: Field required" in message
    assert "weight: Input should be less than or equal to 30 (got 99)" in message
    assert "x: Extra inputs are not permitted" in message
    assert message.endswith("Fix the arguments and call the tool again.")


async def test_many_invalid_arguments_are_summarised() -> None:
    @tool
    def many(a: int, b: int, c: int, d: int, e: int, f: int, g: int) -> int:
        """Take seven numbers."""
        return a

    with pytest.raises(ToolArgumentsError, match="and 2 more"):
        await many.execute({}, make_ctx())


@dataclass
class Point:
    x: int
    y: int


class Reading(BaseModel):
    value: float
    unit: str


async def test_return_values_become_output() -> None:
    @tool
    def as_result() -> ToolResult:
        """Return a ToolResult."""
        return ToolResult(title="t", output="o", metadata={"k": 1})

    @tool
    def as_model() -> Reading:
        """Return a pydantic model."""
        return Reading(value=1.5, unit="°C")

    @tool
    def as_data() -> dict[str, Any]:
        """Return plain data."""
        return {"points": [Point(1, 2)], "none": None}

    @tool
    def as_nothing() -> None:
        """Return nothing."""

    ctx = make_ctx()
    assert await as_result.execute({}, ctx) == ToolResult(title="t", output="o", metadata={"k": 1})
    assert json.loads((await as_model.execute({}, ctx)).output) == {"value": 1.5, "unit": "°C"}
    assert "°C" in (await as_model.execute({}, ctx)).output  # not escaped
    data = json.loads((await as_data.execute({}, ctx)).output)
    assert data == {"points": [{"x": 1, "y": 2}], "none": None}
    assert (await as_nothing.execute({}, ctx)).output == "null"


async def test_unserialisable_return_value_is_a_tool_error() -> None:
    @tool
    def odd() -> object:
        """Return something JSON cannot hold."""
        return object()

    with pytest.raises(ToolError, match="cannot be written as JSON"):
        await odd.execute({}, make_ctx())


def test_numpy_style_docstring() -> None:
    @tool
    def scale(value: float, factor: float = 2.0) -> float:
        """Scale a value.

        Parameters
        ----------
        value : float
            The value to scale.
        factor : float
            How much to scale it by.
        """
        return value * factor

    props = scale.parameters()["properties"]
    assert scale.description == "Scale a value."
    assert props["value"]["description"] == "The value to scale."
    assert props["factor"]["description"] == "How much to scale it by."


def test_sphinx_style_docstring() -> None:
    @tool
    def scale(value: float, factor: float = 2.0) -> float:
        """Scale a value.

        :param value: The value to scale.
        :param factor: How much to scale it by.
        """
        return value * factor

    props = scale.parameters()["properties"]
    assert scale.description == "Scale a value."
    assert props["value"]["description"] == "The value to scale."
    assert props["factor"]["description"] == "How much to scale it by."


def test_field_description_wins_over_the_docstring() -> None:
    @tool
    def pick(n: Annotated[int, Field(description="From the hint.")]) -> int:
        """Pick.

        Args:
            n: From the docstring.
        """
        return n

    assert pick.parameters()["properties"]["n"]["description"] == "From the hint."


def test_plain_docstring_is_the_description_and_wrapped_lines_are_joined() -> None:
    @tool
    def ping() -> str:
        """Check that the service
        answers: returns pong."""
        return "pong"

    assert ping.description == "Check that the service answers: returns pong."
    assert ping.parameters() == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_functions_that_cannot_be_tools_are_config_errors() -> None:
    def undocumented(a: int) -> int:
        return a

    def variadic(*names: str) -> str:
        """Join names."""
        return "".join(names)

    def unschemable(when: threading.Event) -> None:
        """Take something no schema describes."""

    class Local(BaseModel):
        n: int

    def local_hint(value: Local) -> int:
        """Use a type the module cannot see: with postponed annotations it is a string."""
        return value.n

    with pytest.raises(ConfigError, match="no description"):
        tool(undocumented)
    assert tool(description="Echo a number.")(undocumented).description == "Echo a number."
    with pytest.raises(ConfigError, match=r"\*args or \*\*kwargs"):
        tool(variadic)
    with pytest.raises(ConfigError, match="cannot be a schema"):
        tool(unschemable)
    with pytest.raises(ConfigError, match="cannot be resolved"):
        tool(local_hint)


def test_positional_only_parameters_are_passed_positionally() -> None:
    @tool
    def head(text: str, /, n: int = 3) -> str:
        """The first n characters."""
        return text[:n]

    assert asyncio.run(head.execute({"text": "abcdef"}, make_ctx())).output == "abc"


async def test_registered_tool_runs_through_the_executor() -> None:
    registry = ToolRegistry()
    assert await registry.register(ship_parcel) == "ship"
    meta = registry.get_metadata("ship")
    assert meta.description == "Ship a parcel to an address."
    assert meta.parameters == ship_parcel.parameters()

    manager = ToolExecutionManager(registry)
    raw = json.dumps({"address": {"street": "Elm 4", "city": "Oslo"}, "weight": 1})
    outcome = await manager.execute_call("ship", raw, make_ctx(), CallScope())
    assert outcome.status == "completed"
    assert outcome.result is not None
    assert outcome.result.output == "1.0 kg to Elm 4, Oslo"

    refused = await manager.execute_call("ship", '{"weight": 0}', make_ctx(), CallScope())
    assert refused.status == "refused"
    assert refused.reason == "invalid_arguments"
    assert refused.error is not None
    assert "address" in refused.error


def test_parameters_cannot_be_changed_through_the_returned_schema() -> None:
    add.parameters()["properties"].clear()
    assert "a" in add.parameters()["properties"]


async def test_parameters_may_be_named_like_pydantic_attributes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @tool
        def query(
            sql: str, schema: str = "public", json: bool = False, model_name: str = ""
        ) -> str:
            """Run a query."""
            return f"{sql} {schema} {json} {model_name}"

    assert list(query.parameters()["properties"]) == ["sql", "schema", "json", "model_name"]
    result = await query.execute({"sql": "select 1", "schema": "s", "model_name": "m"}, make_ctx())
    assert result.output == "select 1 s False m"


def test_function_tool_is_made_through_the_decorator() -> None:
    with pytest.raises(TypeError, match="@tool"):
        FunctionTool(len)
