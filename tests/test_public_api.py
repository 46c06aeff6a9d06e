"""The public API is a contract: its names and signatures are snapshotted.

The public API is what the package root and each sub-package export in ``__all__``.
``tests/public_api_snapshot.txt`` records every such name and, for functions and
classes, their signatures (classes: the constructor, pydantic fields, public methods,
properties and class attributes). A change to the promise fails this test until the
snapshot is regenerated on purpose:

    UPDATE_API_SNAPSHOT=1 pytest tests/test_public_api.py

and the new snapshot is reviewed and committed with the change.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import os
import pkgutil
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import opencode_python

SNAPSHOT = Path(__file__).with_name("public_api_snapshot.txt")
UPDATE_ENV = "UPDATE_API_SNAPSHOT"
HOW_TO_UPDATE = f"{UPDATE_ENV}=1 pytest tests/test_public_api.py"
PACKAGE = "opencode_python"

# Names the issue-specified modules promise, whatever else changes.
PROMISED = [
    ("opencode_python.sdk", "OpenCodeAsyncClient"),
    ("opencode_python.sdk", "OpenCodeSyncClient"),
    ("opencode_python.sdk", "SDKConfig"),
    ("opencode_python.tools.framework", "Tool"),
    ("opencode_python.tools.framework", "ToolRegistry"),
    ("opencode_python.tools.framework", "ToolContext"),
    ("opencode_python.tools.framework", "ToolResult"),
    ("opencode_python.storage.store", "SessionStorage"),
    ("opencode_python.core.models", "Session"),
    ("opencode_python.core.models", "Message"),
    ("opencode_python.core.models", "TokenUsage"),
    ("opencode_python.agents", "Agent"),
    ("opencode_python.testing", "ScriptedLLMServer"),
]


# Special methods that are part of a class's promise (``async with``, ``in``, ``+``...).
PROTOCOL_DUNDERS = frozenset(
    {
        "__aenter__",
        "__aexit__",
        "__enter__",
        "__exit__",
        "__aiter__",
        "__iter__",
        "__len__",
        "__contains__",
        "__getitem__",
        "__add__",
        "__call__",
    }
)

# --- rendering ---------------------------------------------------------------------


class _Text(str):
    """Text that ``inspect`` prints verbatim (no quotes) inside a signature."""

    def __repr__(self) -> str:
        return str(self)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_QUALIFIED = re.compile(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)")
_QUOTED = re.compile(r"('[^']*'|\"[^\"]*\")")


def _short_names(text: str) -> str:
    """``typing.Literal`` → ``Literal``, ``opencode_python.core.models.Session`` →
    ``Session``, leaving quoted strings (Literal values) alone."""
    pieces = _QUOTED.split(text)
    return "".join(
        piece if index % 2 else _QUALIFIED.sub(r"\1", piece) for index, piece in enumerate(pieces)
    )


def _annotation(annotation: Any) -> str:
    """A type as source-like text, the same on every supported Python version."""
    if isinstance(annotation, str):
        return annotation  # as written (modules with ``from __future__ import annotations``)
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Ellipsis:
        return "..."
    if isinstance(annotation, list):
        return "[" + ", ".join(_annotation(a) for a in annotation) + "]"
    if isinstance(annotation, typing.ForwardRef):
        return annotation.__forward_arg__
    if isinstance(annotation, typing.TypeVar):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(_annotation(a) for a in args)
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is typing.Annotated:
        extras = ", ".join(type(m).__name__ for m in annotation.__metadata__)
        return f"Annotated[{_annotation(args[0])}, {extras}]"
    if origin is not None:
        name = getattr(origin, "__qualname__", None) or _short_names(repr(origin))
        if name == "Callable" and len(args) == 2:
            return f"Callable[{_annotation(args[0])}, {_annotation(args[1])}]"
        return f"{name}[{', '.join(_annotation(a) for a in args)}]" if args else name
    if isinstance(annotation, type):
        return annotation.__qualname__
    return _short_names(repr(annotation))


def _default(value: Any) -> str:
    if isinstance(value, types.FunctionType):
        return f"<function {value.__qualname__}>"
    return _ADDRESS.sub("", repr(value))


def _signature(obj: Any) -> str:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    parameters = [
        parameter.replace(
            annotation=(
                parameter.annotation
                if parameter.annotation is inspect.Parameter.empty
                else _Text(_annotation(parameter.annotation))
            ),
            default=(
                parameter.default
                if parameter.default is inspect.Parameter.empty
                else _Text(_default(parameter.default))
            ),
        )
        for parameter in signature.parameters.values()
    ]
    returns = signature.return_annotation
    if returns is not inspect.Signature.empty:
        returns = _Text(_annotation(returns))
    return str(signature.replace(parameters=parameters, return_annotation=returns))


def _function(name: str, function: Any) -> str:
    prefix = "async def" if inspect.iscoroutinefunction(function) else "def"
    if inspect.isasyncgenfunction(function):
        prefix = "async generator"
    return f"{prefix} {name}{_signature(function)}"


def _is_ours(klass: type) -> bool:
    return klass.__module__.split(".")[0] == PACKAGE


def _class_members(cls: type) -> list[str]:
    """Public methods, properties and class attributes defined by our classes in the MRO."""
    fields = set(cls.model_fields) if issubclass(cls, BaseModel) else set()
    if dataclasses.is_dataclass(cls):
        fields |= {f.name for f in dataclasses.fields(cls)}
    seen: dict[str, str] = {}
    for klass in cls.__mro__:
        if klass is object or not _is_ours(klass):
            continue
        for name, value in vars(klass).items():
            if name in seen or name in fields or name == "model_config":
                continue
            if name.startswith("_") and name not in PROTOCOL_DUNDERS:
                continue
            seen[name] = _member(name, value)
    return [seen[name] for name in sorted(seen)]


def _member(name: str, value: Any) -> str:
    if isinstance(value, staticmethod):
        return "@staticmethod " + _function(name, value.__func__)
    if isinstance(value, classmethod):
        return "@classmethod " + _function(name, value.__func__)
    if isinstance(value, property):
        returns = ""
        if value.fget is not None:
            annotation = inspect.signature(value.fget).return_annotation
            if annotation is not inspect.Signature.empty:
                returns = f" -> {_annotation(annotation)}"
        settable = " (settable)" if value.fset is not None else ""
        return f"property {name}{returns}{settable}"
    if inspect.isfunction(value):
        return _function(name, value)
    if isinstance(value, type):
        return f"class {name}"
    if isinstance(value, str | int | float | bool | type(None)):
        return f"{name} = {value!r}"
    return f"{name}: {type(value).__name__}"


def _constraint(metadata: Any) -> str:
    """A field constraint as ``ge=1`` or ``pattern='...'``, whatever class pydantic uses."""
    if dataclasses.is_dataclass(metadata):
        items = {f.name: getattr(metadata, f.name) for f in dataclasses.fields(metadata)}
    elif hasattr(metadata, "__dict__"):
        items = dict(vars(metadata))
    else:
        return _default(metadata)
    return ", ".join(f"{key}={value!r}" for key, value in items.items() if value is not None)


def _render_class(name: str, cls: type) -> list[str]:
    bases = ", ".join(b.__name__ for b in cls.__bases__ if b is not object)
    lines = [f"class {name}({bases})" if bases else f"class {name}"]
    if issubclass(cls, BaseModel):
        for field_name, field in cls.model_fields.items():
            text = f"    field {field_name}: {_annotation(field.annotation)}"
            if field.default_factory is not None:
                text += " = <factory>"
            elif not field.is_required():
                text += f" = {_default(field.default)}"
            if field.metadata:
                text += "  # " + ", ".join(_constraint(m) for m in field.metadata)
            lines.append(text)
    elif getattr(cls, "_is_protocol", False):
        pass  # a Protocol is not built; its __init__ is typing's and varies by version
    elif (signature := _signature(cls)) != "(...)":  # exceptions take Exception's *args
        lines.append(f"    __init__{signature}")
    lines += [f"    {member}" for member in _class_members(cls)]
    return lines


def _render_value(name: str, value: Any) -> list[str]:
    if isinstance(value, type):
        return _render_class(name, value)
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return [_function(name, value)]
    if isinstance(value, types.ModuleType):
        return [f"module {name}"]
    if getattr(value, "__module__", None) == "typing" or isinstance(
        value, types.GenericAlias | types.UnionType
    ):
        return [f"{name} = {_annotation(value)}"]
    return [f"{name}: {type(value).__name__}"]


def public_modules() -> list[str]:
    """The package root and every sub-package, in a stable order."""
    names = [PACKAGE]
    names += sorted(
        info.name
        for info in pkgutil.iter_modules(opencode_python.__path__, PACKAGE + ".")
        if info.ispkg
    )
    return names


def render_api() -> str:
    lines = [
        "# The public API of opencode-python: every name in __all__ of the package root",
        "# and of each sub-package, with signatures. Generated; do not edit by hand.",
        f"# Regenerate deliberately with: {HOW_TO_UPDATE}",
    ]
    first_seen: dict[int, str] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        exported = getattr(module, "__all__", None)
        lines += ["", f"## {module_name}"]
        if exported is None:
            lines.append("(no __all__)")
            continue
        for name in sorted(exported):
            value = getattr(module, name)
            where = f"{module_name}.{name}"
            if (isinstance(value, type) or callable(value)) and id(value) in first_seen:
                lines.append(f"{name}: same as {first_seen[id(value)]}")
                continue
            if isinstance(value, type) or callable(value):
                first_seen[id(value)] = where
            lines += _render_value(name, value)
    return "\n".join(lines) + "\n"


# --- tests -------------------------------------------------------------------------


def test_public_api_matches_the_snapshot() -> None:
    current = render_api()
    if os.environ.get(UPDATE_ENV):
        SNAPSHOT.write_text(current, encoding="utf-8")
        return
    if not SNAPSHOT.exists():
        pytest.fail(f"{SNAPSHOT} is missing; create it with: {HOW_TO_UPDATE}")
    recorded = SNAPSHOT.read_text(encoding="utf-8")
    if current != recorded:
        diff = "".join(
            difflib.unified_diff(
                recorded.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile="tests/public_api_snapshot.txt (recorded)",
                tofile="public API (now)",
            )
        )
        pytest.fail(
            "The public API changed:\n\n"
            f"{diff}\n"
            "If the change is intended, regenerate the snapshot and commit it with the "
            f"change:\n    {HOW_TO_UPDATE}\n"
            "If not, restore the names and signatures above.",
            pytrace=False,
        )


@pytest.mark.parametrize("module_name", public_modules())
def test_every_exported_name_exists_once(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = list(getattr(module, "__all__", []))
    assert len(exported) == len(set(exported)), f"{module_name}.__all__ repeats a name"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize(("module_name", "name"), PROMISED)
def test_promised_names_exist(module_name: str, name: str) -> None:
    module = importlib.import_module(module_name)
    assert isinstance(getattr(module, name, None), type), f"{module_name}.{name} is missing"


def test_rendering_is_stable_and_has_no_addresses() -> None:
    first, second = render_api(), render_api()
    assert first == second
    assert not _ADDRESS.search(first)
