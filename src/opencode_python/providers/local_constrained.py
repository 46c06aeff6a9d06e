"""Tool calls the local model cannot get wrong: ``tool_choice`` "required" or a named tool.

Left to itself the 135M model hardly ever writes a ``<tool_call>`` block. When a call
is required the provider does not ask whether to call: it picks the tool by the
model's likelihood of each name, then writes the arguments JSON itself, field by
field, letting the model supply only each value. The JSON is valid and holds every
required property by construction. Pure logic over two callables (score
continuations, complete a prefix), so it is tested without the model.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..core.errors import ConfigError
from .base import ToolSchema, named_tool_choice
from .local_tool_calls import OPEN_TAG, ParsedCall

#: How the answer begins when the model calls a tool; the tool's name, quoted, follows.
CALL_START = OPEN_TAG + '{"name": '
#: Token caps per value: a string argument, a number, any other JSON value.
STRING_TOKENS = 48
NUMBER_TOKENS = 12
VALUE_TOKENS = 64

Score = Callable[[str, Sequence[str]], list[float]]
"""The log-likelihood of each continuation after the prompt and a prefix of the answer."""
Done = Callable[[str], bool]
Complete = Callable[[str, Done, int], str]
"""The model's continuation of a prefix, ended when ``Done`` holds or after N tokens."""

_ACCEPTED = (
    "'auto', 'none', 'required', {'type': 'function', 'function': {'name': ...}} or {'name': ...}"
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"-?\d+")
_NOT_NUMERIC = re.compile(r"[^\d.eE+-]")
_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*"', re.DOTALL)  # up to the first unescaped quote


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """A request's ``tool_choice``; a ``name`` makes that tool the required one."""

    mode: Literal["auto", "none", "required"]
    name: str | None = None


_MODES = {mode: ToolChoice(mode) for mode in ("auto", "none", "required")}


def resolve_tool_choice(value: object, tools: Sequence[ToolSchema]) -> ToolChoice:
    """``value`` in OpenAI's forms (a named function also as ``{"name": ...}``).

    None means "auto". With no tools offered nothing can be called, whatever the
    value (an agent's last step offers none), so the choice is "none". Raises
    ``ConfigError`` for a value of another form, naming the accepted ones, and for a
    named tool that is not offered.
    """
    choice = _parse(value)
    if not tools:
        return _MODES["none"]
    if choice.name is not None and all(tool.name != choice.name for tool in tools):
        offered = ", ".join(tool.name for tool in tools)
        raise ConfigError(
            f"Option tool_choice names the tool {choice.name!r}, which this request does "
            f"not offer (offered: {offered})."
        )
    return choice


def _parse(value: object) -> ToolChoice:
    if value is None:
        return _MODES["auto"]
    if isinstance(value, str) and value in _MODES:
        return _MODES[value]
    name = named_tool_choice(value)
    if name is not None:
        return ToolChoice("required", name)
    raise ConfigError(f"Option tool_choice must be {_ACCEPTED}; got {value!r}.")


def constrained_call(
    tools: Sequence[ToolSchema],
    choice: ToolChoice,
    score: Score,
    complete: Complete,
    max_tokens: int,
) -> ParsedCall:
    """The call the model would most likely make to one of ``tools``, as ``choice`` allows.

    ``choice`` comes from ``resolve_tool_choice`` (so ``tools`` offers its name) and
    requires a call. ``max_tokens`` caps each generated value, under the caps per type.
    """
    tool = choose_tool(tools, choice, score)
    prefix = f"{CALL_START}{_dump(tool.name)}, " + '"arguments": {'
    return ParsedCall(
        tool.name, build_arguments(tool.parameters, prefix, score, complete, max_tokens)
    )


def choose_tool(tools: Sequence[ToolSchema], choice: ToolChoice, score: Score) -> ToolSchema:
    """The named tool, the only one, or the one whose name the model finds likeliest.

    Each name is scored with its closing quote, so a short name is not favoured
    merely for being the start of a longer one.
    """
    if choice.name is not None:
        return next(tool for tool in tools if tool.name == choice.name)
    if len(tools) == 1:
        return tools[0]
    scores = score(CALL_START, [_dump(tool.name) for tool in tools])
    return tools[_best(scores)]


def build_arguments(
    parameters: dict[str, Any],
    prefix: str,
    score: Score,
    complete: Complete,
    max_tokens: int,
) -> dict[str, Any]:
    """The required properties of ``parameters``, each value asked of the model.

    ``prefix`` is the answer up to the arguments' opening brace; it grows by each
    property as JSON, so the model always sees the call written so far. Optional
    properties are left out: each one costs a generation and the tool does not need it.
    """
    properties = parameters.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = parameters.get("required")
    keys = list(dict.fromkeys(k for k in required if isinstance(k, str))) if required else []
    arguments: dict[str, Any] = {}
    for index, key in enumerate(keys):
        head = f"{prefix}{', ' if index else ''}{_dump(key)}: "
        after = ", " if index < len(keys) - 1 else "}"
        schema = properties.get(key)
        schema = schema if isinstance(schema, dict) else {}
        value = fill_value(schema, head, after, score, complete, max_tokens)
        arguments[key] = value
        prefix = head + _dump(value)
    return arguments


def fill_value(
    schema: dict[str, Any],
    prefix: str,
    after: str,
    score: Score,
    complete: Complete,
    max_tokens: int,
) -> Any:
    """One value for ``schema``: chosen by likelihood when the choices are few, else generated.

    ``after`` is what follows the value (", " or "}"), scored with each choice so that
    a choice that is the start of another (1 and 10) does not win by default.
    """
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return pick(enum, prefix, after, score)
    kind = schema_type(schema)
    if kind == "boolean":
        return pick([True, False], prefix, after, score)
    if kind == "string":
        text = complete(prefix + '"', _string_done, min(STRING_TOKENS, max_tokens))
        return string_value(text)
    if kind in ("number", "integer"):
        text = complete(prefix, _number_done, min(NUMBER_TOKENS, max_tokens))
        return number_value(text, integer=kind == "integer")
    text = complete(prefix, _json_done, min(VALUE_TOKENS, max_tokens))
    return json_value(text, kind)


def pick(values: list[Any], prefix: str, after: str, score: Score) -> Any:
    """The value the model finds likeliest after ``prefix``."""
    return values[_best(score(prefix, [_dump(value) + after for value in values]))]


def schema_type(schema: dict[str, Any]) -> str | None:
    """The schema's JSON type; of a list of types, the first that is not "null"."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def string_value(text: str) -> str:
    """The string the model wrote after an opening quote, up to the closing one.

    Escapes are decoded; without a closing quote (the token cap), all of ``text``.
    """
    match = _STRING_BODY.match(text)
    body = match.group()[:-1] if match else text
    try:
        value = json.loads(f'"{body}"', strict=False)
    except ValueError:  # a broken escape: keep the characters as written
        return body
    return value if isinstance(value, str) else body


def number_value(text: str, *, integer: bool) -> int | float:
    """The number at the start of ``text`` (an integer's whole part), or 0 if none.

    A float too large to be finite is none either: JSON cannot hold it.
    """
    match = (_INTEGER if integer else _NUMBER).match(text.lstrip())
    if match is None:
        return 0
    digits = match.group()
    if not any(c in digits for c in ".eE"):
        return int(digits)
    value = float(digits)
    return value if math.isfinite(value) else 0


def json_value(text: str, kind: str | None) -> Any:
    """The JSON value at the start of ``text`` if it is of ``kind`` (any, when None).

    Otherwise the kind's empty value ({} or []), or null: the property is required.
    """
    empty: Any = {"object": {}, "array": []}.get(kind or "")
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except ValueError:
        return empty
    return value if kind is None or isinstance(value, _JSON_TYPES.get(kind, ())) else empty


_JSON_TYPES: dict[str, type] = {"object": dict, "array": list, "null": type(None)}


def _string_done(text: str) -> bool:
    return _STRING_BODY.match(text) is not None


def _number_done(text: str) -> bool:
    """True once a character that cannot continue a number follows the start."""
    return _NOT_NUMERIC.search(text.lstrip()) is not None


def _json_done(text: str) -> bool:
    """True once a complete JSON value is followed by something (the model moved on)."""
    stripped = text.lstrip()
    try:
        _, end = json.JSONDecoder().raw_decode(stripped)
    except ValueError:
        return False
    return end < len(stripped)


def _best(scores: Sequence[float]) -> int:
    return max(range(len(scores)), key=scores.__getitem__)


def _dump(value: Any) -> str:
    """JSON as the model reads it best: non-ASCII characters as they are."""
    return json.dumps(value, ensure_ascii=False)
