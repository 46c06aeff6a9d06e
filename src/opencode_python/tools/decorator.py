"""``@tool``: a typed function becomes a ``Tool``.

The function's signature is the tool's contract: its type hints become the JSON schema
the model sees (through pydantic), its docstring the description, and pydantic checks
the model's arguments before the function runs, so the function gets real, validated
values (a pydantic model instance for a model parameter) instead of raw JSON.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import re
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, overload

from pydantic import BaseModel, ConfigDict, PydanticUserError, ValidationError, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import CoreSchema, PydanticSerializationError, to_json

from ..core.errors import ConfigError, ToolArgumentsError, ToolError
from .framework import Tool, ToolContext, ToolResult

_MAX_PROBLEMS = 5
_QUIET: dict[str, Any] = {"warnings": False}  # griffe warns about untyped parameters
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class FunctionTool(Tool):
    """A tool made from a function by ``@tool``.

    Each decorated function gets its own subclass, so ``id`` and ``description`` stay
    class attributes as ``Tool`` promises. The function itself is ``.function``.
    """

    function: Callable[..., Any]
    _arguments: ClassVar[type[BaseModel]]
    _schema: ClassVar[dict[str, Any]]
    _context_params: ClassVar[frozenset[str]]

    def __init__(self, function: Callable[..., Any]) -> None:
        if type(self) is FunctionTool:
            raise TypeError("make a FunctionTool with @tool or FunctionTool.from_function()")
        self.function = function
        self._signature = inspect.signature(function)
        self._is_async = inspect.iscoroutinefunction(function)

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        id: str | None = None,
        description: str | None = None,
    ) -> FunctionTool:
        """Build the tool; ``ConfigError`` says what in the function cannot be a tool."""
        name = getattr(function, "__name__", type(function).__name__)
        tool_id = id or name
        summary, param_docs = _parse_docstring(inspect.getdoc(function) or "")
        text = description if description is not None else summary
        if not text:
            raise ConfigError(
                f"tool {tool_id!r} has no description: give {name}() a docstring "
                "or pass @tool(description=...). The model reads it to decide when to call."
            )
        arguments, context_params = _arguments_model(function, tool_id)
        schema = _schema(arguments, param_docs)
        subclass: type[FunctionTool] = type(
            name,
            (cls,),
            {
                "id": tool_id,
                "description": text,
                "_arguments": arguments,
                "_schema": schema,
                "_context_params": context_params,
                "__module__": getattr(function, "__module__", cls.__module__),
                "__qualname__": getattr(function, "__qualname__", name),
                "__doc__": getattr(function, "__doc__", None),
            },
        )
        return subclass(function)

    def parameters(self) -> dict[str, Any]:
        return copy.deepcopy(self._schema)

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        """Validate ``args`` with the signature's model, call the function, wrap what it returns."""
        try:
            values = dict(self._arguments.model_validate(args))  # models stay instances
        except ValidationError as exc:
            raise ToolArgumentsError(_validation_message(self.id, exc)) from None
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        for param in self._signature.parameters.values():
            value = ctx if param.name in self._context_params else values[param.name]
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(value)
            else:
                keywords[param.name] = value
        if self._is_async:
            result = await self.function(*positional, **keywords)
        else:  # in a thread, so a blocking function does not stall the loop
            result = await asyncio.to_thread(self.function, *positional, **keywords)
        return _to_result(self.id, result)

    def __repr__(self) -> str:
        return f"<tool {self.id!r} from {type(self).__qualname__}()>"


@overload
def tool(function: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *, id: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    id: str | None = None,
    description: str | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Turn a typed function, sync or async, into a tool: ``@tool`` or ``@tool(id=...)``.

    ``id`` defaults to the function's name and ``description`` to the first paragraph
    of its docstring; the docstring's Args/Parameters section (Google, NumPy or Sphinx
    style) describes the arguments. A parameter annotated ``ToolContext`` receives the
    call's context and is not shown to the model. A ``ToolResult`` return is passed
    through, a ``str`` becomes the output, anything else is serialised to JSON.
    """
    if function is not None:
        return FunctionTool.from_function(function, id=id, description=description)

    def decorate(func: Callable[..., Any]) -> FunctionTool:
        return FunctionTool.from_function(func, id=id, description=description)

    return decorate


def _parse_docstring(text: str) -> tuple[str, dict[str, str]]:
    """The docstring's first paragraph, and each documented parameter's description."""
    if not text:
        return "", {}
    import griffe  # a docstring parser, needed only when a tool is documented

    sections = griffe.Docstring(text).parse(
        "auto",
        method="max_sections",  # the heuristics miss a Sphinx field on the last line
        per_style_options={"google": _QUIET, "numpy": _QUIET, "sphinx": _QUIET},
    )
    summary = ""
    params: dict[str, str] = {}
    for section in sections:
        if section.kind is griffe.DocstringSectionKind.text and not summary:
            summary = _one_line(_PARAGRAPH_BREAK.split(section.value.strip(), maxsplit=1)[0])
        elif section.kind in (
            griffe.DocstringSectionKind.parameters,
            griffe.DocstringSectionKind.other_parameters,
        ):
            for param in section.value:
                params[param.name] = _one_line(param.description)
    return summary, params


def _one_line(text: str) -> str:
    """Rejoin lines the source wrapped: the model needs no line breaks."""
    return " ".join(text.split())


def _arguments_model(
    function: Callable[..., Any], tool_id: str
) -> tuple[type[BaseModel], frozenset[str]]:
    """A pydantic model of the parameters the model fills, and the names that get the context."""
    try:
        signature = inspect.signature(function, eval_str=True)
    except NameError as exc:
        raise ConfigError(
            f"the type hints of tool {tool_id!r} cannot be resolved ({exc}); import the "
            "types they name at runtime, not only under TYPE_CHECKING"
        ) from None
    fields: dict[str, Any] = {}
    context_params: set[str] = set()
    for param in signature.parameters.values():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise ConfigError(
                f"tool {tool_id!r}: parameter {param.name!r} collects extra arguments "
                "(*args or **kwargs), which a JSON schema cannot describe; name each argument"
            )
        annotation = Any if param.annotation is inspect.Parameter.empty else param.annotation
        if isinstance(annotation, type) and issubclass(annotation, ToolContext):
            context_params.add(param.name)
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    config = ConfigDict(extra="forbid", protected_namespaces=())
    try:
        with warnings.catch_warnings():  # a parameter may be named like a BaseModel method
            warnings.filterwarnings("ignore", "Field name .* shadows", UserWarning)
            model = create_model(f"{tool_id}_arguments", __config__=config, **fields)
    except (PydanticUserError, NameError, TypeError) as exc:
        raise ConfigError(f"tool {tool_id!r}: its parameters cannot be a schema: {exc}") from None
    return model, frozenset(context_params)


class _ToolJsonSchema(GenerateJsonSchema):
    """Pydantic's schema without the titles it derives from names: noise for the model."""

    def field_title_should_be_set(self, schema: object) -> bool:
        return False

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> dict[str, Any]:
        result = super().generate(schema, mode)
        result.pop("title", None)
        return result


def _schema(arguments: type[BaseModel], param_docs: dict[str, str]) -> dict[str, Any]:
    """The arguments' JSON schema, with docstring descriptions where the hints gave none."""
    try:
        schema = arguments.model_json_schema(schema_generator=_ToolJsonSchema)
    except PydanticUserError as exc:
        raise ConfigError(f"{arguments.__name__}: no JSON schema can describe it: {exc}") from None
    properties: dict[str, Any] = schema.setdefault("properties", {})
    for name, field in arguments.model_fields.items():
        prop = properties.get(field.alias or name)
        if prop is not None and "description" not in prop and name in param_docs:
            prop["description"] = param_docs[name]
    schema.setdefault("required", [])
    return schema


def _validation_message(tool_id: str, exc: ValidationError) -> str:
    """Name each bad field and what was wrong, so the model can fix the call."""
    errors = exc.errors(include_url=False)
    problems: list[str] = []
    for error in errors[:_MAX_PROBLEMS]:
        where = "/".join(str(part) for part in error["loc"])
        problem = error["msg"]
        if error["type"] != "missing":
            problem += f" (got {_short_repr(error['input'])})"
        problems.append(f"{where}: {problem}" if where else problem)
    if len(errors) > _MAX_PROBLEMS:
        problems.append(f"and {len(errors) - _MAX_PROBLEMS} more")
    return (
        f"The arguments for tool {tool_id!r} are not valid: {'; '.join(problems)}. "
        "Fix the arguments and call the tool again."
    )


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _to_result(tool_id: str, value: Any) -> ToolResult:
    if isinstance(value, ToolResult):
        return value
    if isinstance(value, str):
        return ToolResult(output=value)
    try:
        return ToolResult(output=to_json(value).decode())
    except PydanticSerializationError as exc:
        raise ToolError(
            f"Tool {tool_id!r} returned a {type(value).__name__}, which cannot be written as "
            f"JSON ({exc}). The tool should return a str, a ToolResult or JSON-serialisable data."
        ) from None
