"""JSON the local model cannot get wrong: required tool calls and structured answers.

Left to itself the 135M model hardly ever writes a ``<tool_call>`` block, nor JSON of a
given shape. So when a call is required the provider does not ask whether to call: it
picks the tool by the model's likelihood of each name, then writes the arguments JSON
itself; and a structured answer (``ChatRequest.output``) is written the same way. The
walker follows the schema (``$ref``s, objects, arrays, unions, enums), chooses among few
options by likelihood and lets the model generate only the leaf values, so the JSON is
valid under the schema by construction. Pure logic over two callables (score
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

#: Structure caps: containers deeper than this get their emptiest valid value, and an
#: array or map takes at most this many items unless its schema requires more.
MAX_DEPTH = 6
MAX_ITEMS = 8
#: About how many characters of JSON one token holds, for the answer's length budget.
CHARS_PER_TOKEN = 3

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
_MAX_REFS = 32  # a chain of $refs longer than this goes in a circle
_DIGITS = ["-", *"0123456789"]
_OPENINGS = {
    "null": ["null"],
    "boolean": ["true", "false"],
    "string": ['"'],
    "number": _DIGITS,
    "integer": _DIGITS,
    "array": ["["],
    "object": ['{"', "{}"],
}
_ANY_OPENINGS = list(dict.fromkeys(text for texts in _OPENINGS.values() for text in texts))
_EMPTY: dict[str, Any] = {"boolean": False, "integer": 0, "number": 0, "string": ""}
_WEIGHTS = {
    "null": 0,
    "boolean": 1,
    "integer": 1,
    "number": 1,
    "string": 1,
    "array": 2,
    "object": 3,
}
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "deprecated", "readOnly"}
)
_FREE: tuple[tuple[str, object], ...] = (
    ("additionalProperties", True),
    ("additionalProperties", {}),
    ("items", {}),
)
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

    ``choice`` comes from ``resolve_tool_choice`` (so ``tools`` offers its name); the
    caller has decided that a call is made. ``max_tokens`` bounds the arguments as in
    ``constrained_json``.
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
    """The required properties of ``parameters``, each built under its schema.

    ``prefix`` is the answer up to the arguments' opening brace; it grows by each
    property as JSON, so the model always sees the call written so far. Optional
    properties are left out: each one costs a generation and the tool does not need it.
    """
    walker = _Walker(parameters, score, complete, max_tokens, len(prefix))
    return walker.members(walker.resolve(parameters), prefix, 0)


def constrained_json(
    schema: dict[str, Any], score: Score, complete: Complete, max_tokens: int
) -> Any:
    """A value valid under ``schema``: the structure written here, the leaves by the model.

    The answer starts empty and the model sees it as it is written. ``max_tokens`` caps
    each generated value (under the caps per type), and arrays and maps stop taking
    items once the JSON is about that many tokens long (``CHARS_PER_TOKEN``).
    Objects get their required properties only, as in ``build_arguments``.
    """
    return _Walker(schema, score, complete, max_tokens, 0).value(schema, "", "", 0)


@dataclass(frozen=True, slots=True)
class _Walker:
    """Builds values under the schemas of one ``root``, against which ``$ref``s resolve.

    ``start`` is the length of the prefix the answer began with, so that the budget
    counts only what was written since.
    """

    root: dict[str, Any]
    score: Score
    complete: Complete
    max_tokens: int
    start: int

    def value(
        self, schema: object, prefix: str, after: str, depth: int, lead: str | None = None
    ) -> Any:
        """A value for ``schema`` after ``prefix``, ``depth`` containers deep.

        Choices are made by likelihood when they are few, leaves generated, containers
        written here. ``after`` is what follows the value (", ", "}" or "]"), scored with
        each choice so that a choice that is the start of another (1 and 10) does not
        win by default. ``lead`` is the property an object writes first.
        """
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return pick(enum, prefix, after, self.score)
        branches = self._branches(schema)
        if branches:
            return self._union(branches, prefix, after, depth)
        kind = _kind(schema)
        if kind in ("object", "array") and not _free(schema):
            if depth > MAX_DEPTH:
                return self._emptiest(schema, depth)
            if kind == "array":
                return self._array(schema, prefix, depth)
            return self._object(schema, prefix, depth, lead)
        if kind == "null":
            return None
        if kind == "boolean":
            return pick([True, False], prefix, after, self.score)
        if kind == "string":
            text = self.complete(prefix + '"', _string_done, min(STRING_TOKENS, self.max_tokens))
            return string_value(text)
        if kind in ("number", "integer"):
            text = self.complete(prefix, _number_done, min(NUMBER_TOKENS, self.max_tokens))
            return number_value(text, integer=kind == "integer")
        text = self.complete(prefix, _json_done, min(VALUE_TOKENS, self.max_tokens))
        return json_value(text, kind)

    def members(
        self, schema: dict[str, Any], prefix: str, depth: int, lead: str | None = None
    ) -> dict[str, Any]:
        """The required properties of the object ``schema``; ``prefix`` ends with its "{"."""
        properties = _properties(schema)
        keys = _required(schema)
        if lead is not None:
            keys = [lead, *(key for key in keys if key != lead)]
        result: dict[str, Any] = {}
        for index, key in enumerate(keys):
            head = f"{prefix}{', ' if index else ''}{_dump(key)}: "
            after = ", " if index < len(keys) - 1 else "}"
            value = self.value(properties.get(key), head, after, depth + 1)
            result[key] = value
            prefix = head + _dump(value)
        return result

    def resolve(self, schema: object) -> dict[str, Any]:
        """``schema`` with its ``$ref`` followed, the keys beside the ``$ref`` kept.

        A reference that points nowhere, or in a circle, is the empty schema (anything).
        """
        for _ in range(_MAX_REFS):
            if not isinstance(schema, dict):
                return {}
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                return schema
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**self._target(ref), **rest}
        return {}

    def _target(self, ref: str) -> dict[str, Any]:
        """What a local JSON pointer (``#/$defs/Name``, ``#``) points at in ``root``."""
        if not ref.startswith("#"):
            return {}
        node: object = self.root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    def _branches(self, schema: dict[str, Any], level: int = 0) -> list[dict[str, Any]]:
        """The alternatives of a union (``anyOf``, ``oneOf``, a list of types), nested
        unions flattened; [] if ``schema`` is none."""
        options = schema.get("anyOf") or schema.get("oneOf")
        kinds = schema.get("type")
        if isinstance(kinds, list):
            options = [{**schema, "type": kind} for kind in kinds]
        if not isinstance(options, list):
            return []
        flat: list[dict[str, Any]] = []
        for option in map(self.resolve, options):
            nested = self._branches(option, level + 1) if level < MAX_DEPTH else []
            if nested:
                flat.extend(nested)
            elif not (option.get("anyOf") or option.get("oneOf")):  # not a union too deep
                flat.append(option)
        return flat

    def _union(self, branches: list[dict[str, Any]], prefix: str, after: str, depth: int) -> Any:
        """The value of the branch whose opening the model finds likeliest.

        Branches are compared by their first token (``_openings``), so that an object's
        longer opening is not outscored by ``null`` merely for its length. Objects tie on
        ``{"``; among them the likeliest first property wins, with its value if that is a
        constant (a discriminator). That property is the first with a constant, else the
        first that the other branches do not require; the object is written from it.
        """
        if len(branches) == 1:
            return self.value(branches[0], prefix, after, depth)
        leads = [self._lead(branch, branches) for branch in branches]
        groups = [self._openings(branch) for branch in branches]
        keyed = [self._keyed(b, lead) for b, lead in zip(branches, leads, strict=True)]
        if sum(key is not None for key in keyed) < 2:
            keyed = [None] * len(branches)  # nothing to tell apart
        texts = [*(text for group in groups for text in group), *filter(None, keyed)]
        unique = list(dict.fromkeys(texts))
        scores = dict(zip(unique, self.score(prefix, unique), strict=True))
        ranks = [
            (max(scores[text] for text in group), -math.inf if key is None else scores[key])
            for group, key in zip(groups, keyed, strict=True)
        ]
        best = max(range(len(ranks)), key=ranks.__getitem__)
        return self.value(branches[best], prefix, after, depth, leads[best])

    def _lead(self, branch: dict[str, Any], branches: list[dict[str, Any]]) -> str | None:
        keys = _required(branch)
        if _kind(branch) != "object" or _map_values(branch) is not None or not keys:
            return None
        properties = _properties(branch)
        tagged = (key for key in keys if "const" in self.resolve(properties.get(key)))
        others = {key for other in branches if other is not branch for key in _required(other)}
        distinct = (key for key in keys if key not in others)
        return next(tagged, next(distinct, keys[0]))

    def _keyed(self, branch: dict[str, Any], lead: str | None) -> str | None:
        """An object's opening up to its ``lead`` property's value, that too if constant."""
        if lead is None:
            return None
        value = self.resolve(_properties(branch).get(lead))
        head = "{" + _dump(lead) + ": "
        return head + _dump(value["const"]) if "const" in value else head

    def _openings(self, schema: object) -> list[str]:
        """How a value of ``schema`` may begin, about one token of it as the model writes
        it: an object as ``{"`` (``{}`` if it requires nothing), a string as ``"``."""
        schema = self.resolve(schema)
        if "const" in schema:
            return [_dump(schema["const"])]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return [_dump(value) for value in enum]
        branches = self._branches(schema)
        if branches:
            return [text for branch in branches for text in self._openings(branch)]
        kind = _kind(schema)
        if kind == "object" and not _free(schema) and _map_values(schema) is None:
            return ['{"'] if _required(schema) else ["{}"]
        return _OPENINGS.get(kind or "", _ANY_OPENINGS)

    def _object(
        self, schema: dict[str, Any], prefix: str, depth: int, lead: str | None
    ) -> dict[str, Any]:
        values = _map_values(schema)
        if values is None:
            return self.members(schema, prefix + "{", depth, lead)
        text = prefix + "{"
        entries: dict[str, Any] = {}
        while len(entries) < MAX_ITEMS and not self._spent(text):
            if not self._goes_on(text, [', "' if entries else '"'], "}"):
                break
            head = text + (", " if entries else "")
            written = self.complete(head + '"', _string_done, min(STRING_TOKENS, self.max_tokens))
            key = string_value(written)
            if key in entries:
                break
            head += _dump(key) + ": "
            value = self.value(values, head, ", ", depth + 1)
            entries[key] = value
            text = head + _dump(value)
        return entries

    def _array(self, schema: dict[str, Any], prefix: str, depth: int) -> list[Any]:
        """Items while the model would rather go on than close the array, within
        ``minItems`` and ``maxItems`` (``MAX_ITEMS`` at most, unless more are required)."""
        low = _count(schema.get("minItems"), 0)
        cap = max(low, MAX_ITEMS)
        high = min(_count(schema.get("maxItems"), cap), cap)
        unique = schema.get("uniqueItems") is True
        text = prefix + "["
        items: list[Any] = []
        while len(items) < high and (item := _item(schema, len(items))) is not None:
            if len(items) >= low and (
                self._spent(text)
                or not self._goes_on(text, [", "] if items else self._openings(item), "]")
            ):
                break
            head = text + (", " if items else "")
            value = self.value(item, head, "]" if len(items) + 1 == high else ", ", depth + 1)
            if unique and value in items:
                break
            items.append(value)
            text = head + _dump(value)
        return items

    def _goes_on(self, text: str, openings: list[str], close: str) -> bool:
        """True if the model finds one of ``openings`` likelier after ``text`` than ``close``."""
        return _best(self.score(text, [*openings, close])) < len(openings)

    def _spent(self, text: str) -> bool:
        return len(text) - self.start >= self.max_tokens * CHARS_PER_TOKEN

    def _emptiest(self, schema: object, depth: int) -> Any:
        """The smallest valid value for ``schema``, asked of no one: required parts only."""
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[0]
        branches = self._branches(schema)
        if branches:
            return self._emptiest(min(branches, key=_weight), depth)
        kind = _kind(schema)
        if depth > 3 * MAX_DEPTH:  # only a schema that requires endless nesting gets here
            return None
        if kind == "object":
            properties = _properties(schema)
            return {
                key: self._emptiest(properties.get(key), depth + 1) for key in _required(schema)
            }
        if kind == "array":
            count = _count(schema.get("minItems"), 0)
            return [self._emptiest(_item(schema, i), depth + 1) for i in range(count)]
        return _EMPTY.get(kind or "")


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


_JSON_TYPES: dict[str, type] = {"object": dict, "array": list}


def _kind(schema: dict[str, Any]) -> str | None:
    """The schema's type, named or implied by its keywords (``properties``, ``items``)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    if any(key in schema for key in ("properties", "additionalProperties", "required")):
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _free(schema: dict[str, Any]) -> bool:
    """True if any value of the schema's type is valid, so the model may write it freely."""
    return all(
        key == "type" or key in _ANNOTATIONS or (key, value) in _FREE
        for key, value in schema.items()
    )


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def _required(schema: dict[str, Any]) -> list[str]:
    required = schema.get("required")
    if not isinstance(required, list):
        return []
    return list(dict.fromkeys(key for key in required if isinstance(key, str)))


def _map_values(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of a map's values (``dict[str, X]``: no properties, only X); else None."""
    values = schema.get("additionalProperties")
    if "properties" in schema or not isinstance(values, dict) or not values:
        return None
    return values


def _item(schema: dict[str, Any], index: int) -> object | None:
    """The schema of item ``index`` (``prefixItems``, then ``items``); None if none may be."""
    fixed = schema.get("prefixItems")
    if isinstance(fixed, list) and index < len(fixed):
        item: object = fixed[index]
        return item
    items: object = schema.get("items", {})
    return None if items is False else items


def _count(value: object, default: int) -> int:
    """``value`` if it is a count (``minItems``, ``maxItems``), else ``default``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return default


def _weight(schema: dict[str, Any]) -> int:
    """How big a branch's emptiest value is: null, then leaves, arrays, objects."""
    if "const" in schema or "enum" in schema:
        return 1
    return _WEIGHTS.get(_kind(schema) or "", 4)


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
