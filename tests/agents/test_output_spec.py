"""``OutputSpec`` and the model profiles: the schema the model sees and the checks made.

No model here: these pin what every mode relies on (the schema each kind of type
becomes, which schemas go strict, how answers are read and partial answers forgiven)
and which mode each model family gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from opencode_python.agents.output import (
    NOTHING,
    OutputInvalid,
    OutputSpec,
    extract_json,
    plan_output,
)
from opencode_python.core.errors import ConfigError
from opencode_python.providers.profile import (
    DEFAULT_PROFILE,
    ModelProfile,
    anthropic_profile,
    openai_profile,
    profile_of,
)


class Address(BaseModel):
    city: str


class Person(BaseModel):
    """Someone in the document."""

    name: str
    address: Address


class WithDefault(BaseModel):
    name: str
    nickname: str = ""


def test_a_model_is_sent_as_its_own_schema_and_goes_strict() -> None:
    spec = OutputSpec.of(Person)
    assert spec.name == "Person"
    assert spec.description == "Someone in the document."
    assert not spec.wrapped
    assert spec.strict
    assert spec.schema["additionalProperties"] is False
    assert spec.schema["$defs"]["Address"]["additionalProperties"] is False


def test_optional_fields_keep_the_schema_out_of_strict_mode() -> None:
    """OpenAI's strict mode needs every property required; a default breaks that."""
    spec = OutputSpec.of(WithDefault)
    assert not spec.strict
    assert spec.schema["additionalProperties"] is False  # closed all the same
    assert spec.validate({"name": "a"}) == WithDefault(name="a")


def test_a_non_object_type_travels_wrapped_with_its_definitions_on_top() -> None:
    spec = OutputSpec.of(list[Address])
    assert spec.wrapped
    assert spec.schema["required"] == ["result"]
    assert spec.schema["properties"]["result"]["items"] == {"$ref": "#/$defs/Address"}
    assert "Address" in spec.schema["$defs"]
    assert spec.validate({"result": [{"city": "Oslo"}]}) == [Address(city="Oslo")]
    assert spec.validate([{"city": "Oslo"}]) == [Address(city="Oslo")]  # bare, as prompted


def test_errors_name_each_field_and_what_came() -> None:
    spec = OutputSpec.of(Person)
    with pytest.raises(OutputInvalid) as caught:
        spec.validate({"name": 3, "address": {}})
    text = str(caught.value)
    assert "- name: Input should be a valid string (got 3)" in text
    assert "- address.city: Field required" in text


def test_errors_of_a_wrapped_type_name_the_wrapper() -> None:
    with pytest.raises(OutputInvalid, match=r"- result\.1: Input should be a valid integer"):
        OutputSpec.of(list[int]).validate({"result": [1, "x"]})


@pytest.mark.parametrize(
    "text",
    [
        '{"city": "Oslo"}',
        'Sure! {"city": "Oslo"} Anything else?',
        'Here:\n```json\n{"city": "Oslo"}\n```',
        '```\n{"city": "Oslo"}\n```',
    ],
)
def test_a_text_answer_may_come_with_fences_or_prose(text: str) -> None:
    assert OutputSpec.of(Address).parse(text) == Address(city="Oslo")


def test_a_text_answer_without_json_says_so() -> None:
    assert extract_json("no json here") is NOTHING
    with pytest.raises(OutputInvalid, match="was not JSON"):
        OutputSpec.of(Address).parse("Oslo")


def test_partials_forgive_what_is_missing_but_not_what_is_wrong() -> None:
    spec = OutputSpec.of(Person)
    assert spec.partial("") is NOTHING
    assert spec.partial('{"name": "Ad') == {"name": "Ad"}
    assert spec.partial('{"name": "Ada", "address": {"ci') == {"name": "Ada", "address": {}}
    assert spec.partial('{"name": 12, "addr') is NOTHING


def test_partials_of_a_wrapped_type_are_unwrapped() -> None:
    spec = OutputSpec.of(list[str])
    assert spec.partial('{"result": ["a", "b') == ["a", "b"]
    assert spec.partial('{"other": 1') is NOTHING


def test_a_raw_json_schema_is_checked_then_used_as_it_is() -> None:
    schema = {
        "title": "Ticket",
        "type": "object",
        "properties": {"priority": {"enum": ["low", "high"]}},
        "required": ["priority"],
    }
    spec = OutputSpec.of(schema)
    assert spec.name == "Ticket"
    assert spec.validate({"priority": "high"}) == {"priority": "high"}
    with pytest.raises(OutputInvalid, match="- priority: 'urgent' is not one of"):
        spec.validate({"priority": "urgent"})
    assert spec.partial('{"prio') == {}
    with pytest.raises(ConfigError, match="not a valid JSON schema"):
        OutputSpec.of({"type": "objekt"})


@dataclass
class Span:
    start: int
    end: int


@pytest.mark.parametrize(
    ("output_type", "name"),
    [
        (Span, "Span"),
        (int, "int"),
        (Literal["a", "b"], "final_result"),
        (Span | None, "final_result"),
    ],
)
def test_names_are_the_types_own_or_the_tools(output_type: Any, name: str) -> None:
    assert OutputSpec.of(output_type).name == name
    assert OutputSpec.of(output_type).description == ""  # no docstring Python wrote


def test_str_means_a_text_answer_and_bad_settings_are_config_errors() -> None:
    assert plan_output(str, mode=None, retries=None, profile=DEFAULT_PROFILE) is None
    assert plan_output(None, mode="tool", retries=None, profile=DEFAULT_PROFILE) is None
    with pytest.raises(ConfigError, match="output_retries must be 0 or more"):
        plan_output(int, mode=None, retries=-1, profile=DEFAULT_PROFILE)
    plan = plan_output(int, mode=None, retries=None, profile=ModelProfile(native_output=True))
    assert plan is not None
    assert (plan.mode, plan.retries) == ("native", 2)


@pytest.mark.parametrize(
    ("model", "mode"),
    [
        ("claude-sonnet-4-5", "native"),
        ("claude-haiku-4-5-20251001", "native"),
        ("claude-opus-4-1-20250805", "native"),
        ("claude-opus-5", "native"),
        ("claude-sonnet-4-20250514", "tool"),
        ("claude-3-5-sonnet-20241022", "tool"),
    ],
)
def test_claude_families_from_4_5_are_native(model: str, mode: str) -> None:
    assert anthropic_profile(model).output_mode == mode


@pytest.mark.parametrize(
    ("model", "official", "mode"),
    [
        ("gpt-4.1-mini", True, "native"),
        ("gpt-4o", True, "native"),
        ("gpt-4o-2024-05-13", True, "tool"),
        ("gpt-3.5-turbo", True, "tool"),
        ("o3-mini", True, "native"),
        ("gpt-4.1-mini", False, "tool"),  # a compatible server may ignore response_format
    ],
)
def test_openai_models_are_native_only_on_openai(model: str, official: bool, mode: str) -> None:
    assert openai_profile(model, official=official).output_mode == mode


def test_a_provider_without_a_profile_gets_the_tool_mode() -> None:
    assert profile_of(object(), "any") is DEFAULT_PROFILE
    assert DEFAULT_PROFILE.output_mode == "tool"
    assert ModelProfile(tool_calls=False).output_mode == "prompted"
