"""Structured output: the type a run answers with, the schema the model sees, validation.

``OutputSpec.of(output_type)`` takes what a user passes as ``output_type=``: a pydantic
model, a dataclass, a ``TypedDict``, a plain type (``int``, ``list[str]``, a
``Literal``), a union, or a raw JSON schema dict. Providers only take object schemas
(OpenAI's ``response_format``, a tool's parameters), so anything else travels wrapped
as ``{"result": <value>}`` and is unwrapped after validation, as PydanticAI does.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from ..core.errors import ConfigError
from ..providers.base import ChatRequest, OutputFormat, ToolSchema
from ..providers.profile import ModelProfile, OutputMode

OUTPUT_MODES: tuple[OutputMode, ...] = ("native", "tool", "prompted")
FINAL_TOOL = "final_result"
"""The tool the model calls with its answer in ``tool`` mode."""
WRAP_KEY = "result"
FIX_TEXT = "Answer again with only a JSON object that matches the schema."
DEFAULT_RETRIES = 2
MAX_ERRORS_SHOWN = 12

# What OpenAI's strict mode accepts; a schema using anything else goes non-strict.
_STRICT_KEYS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "enum",
        "const",
        "description",
        "title",
        "$ref",
        "$defs",
    }
)
_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL)


class OutputInvalid(Exception):
    """An answer that is not a valid instance of the output type; ``str`` says why, in
    words the model can act on."""


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One output type, ready for every mode.

    ``schema`` is the object schema the model sees (wrapped when the type is not an
    object); ``strict`` says it meets OpenAI's strict subset.
    """

    name: str
    description: str
    schema: dict[str, Any]
    wrapped: bool
    strict: bool
    _check: Callable[[Any], Any]

    @classmethod
    def of(cls, output_type: Any) -> OutputSpec:
        """The spec of ``output_type``. Raises ``ConfigError`` for a type pydantic cannot
        describe as JSON schema, or a schema dict that is not valid JSON schema."""
        if isinstance(output_type, dict):
            schema, check = _raw_schema(output_type)
            name = str(output_type.get("title") or "final_result")
            description = str(output_type.get("description") or "")
        else:
            try:
                adapter: TypeAdapter[Any] = TypeAdapter(output_type)
                schema = adapter.json_schema()
            except Exception as exc:
                raise ConfigError(
                    f"output_type {output_type!r} cannot be described as JSON schema ({exc}); "
                    "pass a pydantic model, a dataclass, a TypedDict, a plain type or a "
                    "JSON schema dict"
                ) from exc
            check = adapter.validate_python
            name, description = _named(output_type)
        wrapped = schema.get("type") != "object" or "anyOf" in schema or "oneOf" in schema
        if wrapped:
            defs = schema.pop("$defs", None)
            schema = {
                "type": "object",
                "properties": {WRAP_KEY: schema},
                "required": [WRAP_KEY],
                **({"$defs": defs} if defs else {}),
            }
        schema = _closed(schema)
        return cls(
            name=_tool_safe(name) or "final_result",
            description=description,
            schema=schema,
            wrapped=wrapped,
            strict=_fits_strict(schema),
            _check=check,
        )

    # --- what the model is told ------------------------------------------------------

    def output_format(self) -> OutputFormat:
        return OutputFormat(self.name, self.schema, self.strict, self.description)

    def tool(self) -> ToolSchema:
        """The final-answer tool of ``tool`` mode: its parameters are the schema."""
        about = f" {self.description}" if self.description else ""
        return ToolSchema(
            FINAL_TOOL,
            "Give your final answer by calling this tool once you have everything you "
            f"need; its arguments are the answer ({self.name}).{about}",
            self.schema,
        )

    def instructions(self) -> str:
        """The system prompt section of ``prompted`` mode (and a reminder in the others)."""
        schema = json.dumps(self.schema, separators=(",", ":"))
        return (
            "When you give your final answer, answer with only a JSON object, without "
            f"prose or code fences, that matches this JSON schema:\n{schema}"
        )

    # --- validation --------------------------------------------------------------------

    def parse(self, text: str) -> Any:
        """The validated value in a text answer (code fences and prose around one JSON
        value are tolerated). Raises ``OutputInvalid``."""
        data = extract_json(text)
        if data is NOTHING:
            raise OutputInvalid(
                "Your answer was not JSON. Answer with only a JSON object that matches the schema."
            )
        return self.validate(data)

    def validate(self, data: Any) -> Any:
        """The validated value of decoded JSON (an answer's, or the final tool's
        arguments). Raises ``OutputInvalid`` naming each wrong field."""
        if self.wrapped and isinstance(data, dict) and set(data) == {WRAP_KEY}:
            data = data[WRAP_KEY]
            # else: the model answered the bare value; it is validated as it is
        try:
            return self._check(data)
        except ValidationError as exc:
            raise OutputInvalid(_describe_pydantic(exc, self.wrapped)) from None
        except _SchemaErrors as exc:
            raise OutputInvalid(str(exc)) from None

    def partial(self, text: str) -> Any:
        """The answer so far from incomplete JSON text, or ``NOTHING`` while nothing
        parses yet or a field already present is of the wrong type.

        Only fields that are missing or cut short are forgiven: pydantic cannot build a
        model before its required fields arrive, so partials are the JSON parsed so far.
        """
        start = text.find("{")
        if start < 0:
            return NOTHING
        try:
            data = from_json(text[start:], allow_partial="trailing-strings")
        except ValueError:
            return NOTHING
        if self.wrapped:
            if not isinstance(data, dict) or WRAP_KEY not in data:
                return NOTHING
            data = data[WRAP_KEY]
        try:
            self._check(data)
        except ValidationError as exc:
            if any(e["type"] != "missing" for e in exc.errors()):
                return NOTHING
        except _SchemaErrors as exc:
            if not exc.only_missing:
                return NOTHING
        return data


class _Nothing:
    """No value yet (distinct from a JSON ``null``)."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()


def extract_json(text: str) -> Any:
    """The JSON value ``text`` holds: all of it, a fenced block, or the span from the
    first ``{``/``[`` to the last ``}``/``]``; ``NOTHING`` if none parses."""
    candidates = [text.strip()]
    candidates.extend(m.group(1).strip() for m in _FENCE.finditer(text))
    for opening, closing in ("{}", "[]"):
        first, last = text.find(opening), text.rfind(closing)
        if 0 <= first < last:
            candidates.append(text[first : last + 1])
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return NOTHING


def _named(output_type: Any) -> tuple[str, str]:
    """A class's name and docstring (the user's own, not one Python wrote); a type
    such as ``list[str]`` or a union has neither."""
    if not isinstance(output_type, type):
        return "final_result", ""
    doc = output_type.__doc__ or ""
    own = output_type.__module__ != "builtins" and not doc.startswith(f"{output_type.__name__}(")
    return output_type.__name__, inspect.cleandoc(doc) if own else ""


def _describe_pydantic(error: ValidationError, wrapped: bool) -> str:
    lines = []
    for item in error.errors()[:MAX_ERRORS_SHOWN]:
        path = ".".join(str(p) for p in item["loc"]) or "(the whole answer)"
        if wrapped:
            path = f"{WRAP_KEY}.{path}" if item["loc"] else WRAP_KEY
        got = "" if item["type"] == "missing" else f" (got {_short(item.get('input'))})"
        lines.append(f"- {path}: {item['msg']}{got}")
    more = error.error_count() - MAX_ERRORS_SHOWN
    if more > 0:
        lines.append(f"- and {more} more")
    return "Your answer did not match the schema:\n" + "\n".join(lines)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# --- raw JSON schemas ------------------------------------------------------------------


class _SchemaErrors(Exception):
    def __init__(self, message: str, *, only_missing: bool) -> None:
        super().__init__(message)
        self.only_missing = only_missing


def _raw_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], Callable[[Any], Any]]:
    """A user's JSON schema, checked now, and a validator for answers under it."""
    import jsonschema

    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"output_type: not a valid JSON schema: {exc.message}") from None
    validator = validator_class(schema)

    def check(data: Any) -> Any:
        errors = list(validator.iter_errors(data))
        if not errors:
            return data
        lines = []
        for error in errors[:MAX_ERRORS_SHOWN]:
            path = ".".join(str(p) for p in error.absolute_path) or "(the whole answer)"
            lines.append(f"- {path}: {error.message}")
        only_missing = all(e.validator == "required" for e in errors)
        message = "Your answer did not match the schema:\n" + "\n".join(lines)
        raise _SchemaErrors(message, only_missing=only_missing)

    return copy.deepcopy(schema), check


# --- OpenAI's strict subset ------------------------------------------------------------


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``additionalProperties: false`` on every object that lists its
    properties and says nothing of others: what OpenAI's strict mode and Anthropic's
    structured outputs require, and harmless elsewhere (extra keys are ignored)."""
    closed = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                close(item)
        elif isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for key, value in node.items():
                if key not in ("enum", "const", "default", "examples"):
                    close(value)

    close(closed)
    return closed


def _fits_strict(node: Any) -> bool:
    """Whether a closed schema fits OpenAI's strict subset: every property required,
    no other properties, only the keywords it knows."""
    if not isinstance(node, dict):
        return True
    if set(node) - _STRICT_KEYS:
        return False
    properties = node.get("properties", {})
    if node.get("type") == "object" and (
        set(node.get("required", ())) != set(properties)
        or node.get("additionalProperties") is not False
    ):
        return False
    children = [
        *properties.values(),
        node.get("items"),
        *node.get("anyOf", ()),
        *node.get("$defs", {}).values(),
    ]
    return all(_fits_strict(child) for child in children if child is not None)


def _tool_safe(name: str) -> str:
    """A name the APIs take as a schema name: letters, digits, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """How one run gets its structured answer: the spec, the mode, the retries allowed."""

    spec: OutputSpec
    mode: OutputMode
    retries: int = DEFAULT_RETRIES

    def shape(self, request: ChatRequest, *, last: bool) -> None:
        """Ask for the answer in this plan's mode: the API's structured output, the
        schema in the system prompt, or the final-answer tool, required so that the
        model ends with it (unless the agent chose its own ``tool_choice``)."""
        if self.mode == "native":
            request.output = self.spec.output_format()
        elif self.mode == "prompted":
            request.system.append(self.spec.instructions())
        else:
            request.tools.append(self.spec.tool())
            if last or "tool_choice" not in request.options:
                only = len(request.tools) == 1
                named = {"type": "function", "function": {"name": FINAL_TOOL}}
                request.options["tool_choice"] = named if only else "required"

    def last_step_notice(self) -> str:
        """What the last step is told: tools are off, answer now, in form."""
        how = (
            f"call {FINAL_TOOL} with your final answer"
            if self.mode == "tool"
            else "answer with only a JSON object that matches the schema"
        )
        return (
            "You have reached the maximum number of steps for this run, so tools are "
            f"disabled now. Give your final answer now: {how}."
        )


def plan_output(
    output_type: Any,
    *,
    mode: OutputMode | None,
    retries: int | None,
    profile: ModelProfile,
) -> OutputPlan | None:
    """The plan for ``output_type`` (None: a text answer; ``str`` is one too), in
    ``mode`` if given, else the one the model's profile prefers. Raises ``ConfigError``
    for an unknown mode or a negative retry count."""
    if mode is not None and mode not in OUTPUT_MODES:
        raise ConfigError(f"output_mode must be one of {', '.join(OUTPUT_MODES)}; got {mode!r}")
    if retries is not None and retries < 0:
        raise ConfigError(f"output_retries must be 0 or more; got {retries}")
    if output_type is None or output_type is str:
        return None
    chosen = mode if mode is not None else profile.output_mode
    spec = OutputSpec.of(output_type)
    return OutputPlan(spec, chosen, DEFAULT_RETRIES if retries is None else retries)
