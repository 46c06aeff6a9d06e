"""The agents a client knows: built-ins, agents from config and files, agents from code.

Three layers, the higher one winning by name: agents registered in code (kept in the
store when there is one), agents defined by ``opencode.json`` or Markdown files (merged
over a built-in of the same name, reloaded from their sources at each start), and the
built-ins. Removing a registered agent brings back what it covered.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import ValidationError

from ..core.errors import ConfigError, NotFoundError, StorageError
from ..storage.contract import Store
from .agent import Agent, AgentDefinition, describe_errors
from .builtin import builtin_agents_by_name
from .markdown import read_markdown_definitions

log = logging.getLogger(__name__)

AGENTS_NAMESPACE: Final = "agents"
"""Store state namespace of registered agents: key = name, value = the agent's JSON."""

INDEX_NAMESPACE: Final = "agents.index"
INDEX_KEY: Final = "names"
"""Where the names of the registered agents are listed (the store cannot list keys)."""


class AgentRegistry:
    """Agents by name. ``get`` and ``list`` read memory; changes are written to the store
    (when given) before they take effect, so what you see is what a restart loads."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self._registered: dict[str, Agent] = {}
        self._configured: dict[str, Agent] = {}
        self._sources: dict[str, str] = {}
        self._disabled: set[str] = set()
        self._lock = asyncio.Lock()
        self.errors: builtins.list[ConfigError] = []
        """Agent files that were skipped, with why (``load_markdown``)."""

    # reading ---------------------------------------------------------------------------

    def get(self, name: str) -> Agent:
        """The agent called ``name``. Raises ``NotFoundError`` listing the known names."""
        agent = self._resolve(name)
        if agent is None:
            raise self._not_found(name)
        return agent

    def list(
        self,
        mode: Literal["primary", "subagent"] | None = None,
        *,
        include_hidden: bool = False,
    ) -> builtins.list[Agent]:
        """Agents by name. ``mode="primary"`` gives those a user can talk to (``primary``
        and ``all``), ``mode="subagent"`` those that can be delegated to (``subagent`` and
        ``all``). Hidden agents (title, summary, compaction) only with ``include_hidden``."""
        names = {*builtin_agents_by_name(), *self._configured, *self._registered}
        agents = [agent for name in sorted(names) if (agent := self._resolve(name)) is not None]
        return [
            agent
            for agent in agents
            if (include_hidden or not agent.hidden)
            and (mode is None or agent.mode in (mode, "all"))
        ]

    def _not_found(self, name: str) -> NotFoundError:
        known = ", ".join(agent.name for agent in self.list(include_hidden=True))
        return NotFoundError(f"no agent named {name!r}; known agents: {known}")

    def _resolve(self, name: str) -> Agent | None:
        registered = self._registered.get(name)
        if registered is not None or name in self._disabled:
            return registered
        return self._configured.get(name) or builtin_agents_by_name().get(name)

    # agents from code ------------------------------------------------------------------

    async def register(self, agent: Agent) -> Agent:
        """Add ``agent``, or replace the registered agent of that name (an update).

        Registering the name of a built-in or configured agent overrides it until the
        registered one is removed. A registered agent is never ``native``; the stored copy
        is returned.
        """
        if agent.native:
            agent = agent.model_copy(update={"native": False})
        async with self._lock:
            if self.store is not None:
                await self.store.set_state(
                    AGENTS_NAMESPACE, agent.name, agent.model_dump(mode="json")
                )
                if agent.name not in self._registered:
                    await _write_index(self.store, {*self._registered, agent.name})
            self._registered[agent.name] = agent
        return agent

    async def update(self, name: str, /, **changes: Any) -> Agent:
        """The agent ``name`` with ``changes`` applied, registered (so a change to a built-in
        or configured agent becomes an override). ``permission`` replaces the rules."""
        current = self.get(name)
        if changes.get("name", name) != name:
            raise ConfigError(
                f"agent {name!r} cannot be renamed; register the agent under the new name "
                "and remove the old one"
            )
        try:
            updated = Agent.model_validate({**current.model_dump(), **changes})
        except ValidationError as exc:
            raise ConfigError(f"agent {name!r}: {describe_errors(exc)}") from None
        return await self.register(updated)

    async def remove(self, name: str) -> None:
        """Remove the registered agent ``name``; the built-in or configured agent it
        overrode, if any, comes back. Built-in agents cannot be removed, nor agents from
        config or files (disable those in their source)."""
        async with self._lock:
            if name in self._registered:
                if self.store is not None:
                    await _write_index(self.store, set(self._registered) - {name})
                    await self.store.delete_state(AGENTS_NAMESPACE, name)
                del self._registered[name]
                return
            if self._resolve(name) is None:
                raise self._not_found(name)
            if name in builtin_agents_by_name():
                raise ConfigError(
                    f"built-in agent {name!r} cannot be removed; register an agent of the "
                    "same name to override it"
                )
            raise ConfigError(
                f"agent {name!r} comes from {self._sources[name]} and is loaded from there at "
                "every start; delete it there or set 'disable: true'"
            )

    async def load(self) -> builtins.list[Agent]:
        """Read the registered agents back from the store (after a restart); returns them.

        Replaces the registered agents held in memory. Without a store there is nothing
        to load.
        """
        if self.store is None:
            return []
        async with self._lock:
            names = await self.store.get_state(INDEX_NAMESPACE, INDEX_KEY) or []
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise StorageError(
                    f"the stored agent index ({INDEX_NAMESPACE}/{INDEX_KEY}) is not a list of "
                    f"names: {names!r}; delete it to start with no registered agents"
                )
            loaded: dict[str, Agent] = {}
            for name in names:
                value = await self.store.get_state(AGENTS_NAMESPACE, name)
                if value is None:  # another registry on this store removed it meanwhile
                    continue
                try:
                    loaded[name] = Agent.model_validate(value)
                except (ValidationError, ConfigError) as exc:
                    raise StorageError(
                        f"stored agent {name!r} is not a valid agent ({exc}); fix it or delete "
                        f"it with store.delete_state({AGENTS_NAMESPACE!r}, {name!r})"
                    ) from None
            self._registered = loaded
        return list(loaded.values())

    # agents from config and files ------------------------------------------------------

    async def load_definitions(self, definitions: Mapping[str, object], source: str) -> None:
        """Apply ``agent.<name>`` entries of ``opencode.json`` (OpenCode's keys), in order.

        An entry for a known built-in or configured agent merges over it (``{"build":
        {"model": ...}}`` changes only build's model; permission rules are added after its
        own); ``disable: true`` hides the agent. ``source`` names the file in errors. All
        entries are validated before any is applied. Nothing is written to the store.
        """
        if not isinstance(definitions, Mapping):
            raise ConfigError(
                f"{source}: agent: must be a mapping of agent name to settings; "
                f"got {type(definitions).__name__}"
            )
        self._apply(
            [
                AgentDefinition.parse(name, entry, source=source, where=f"agent.{name}.")
                for name, entry in definitions.items()
            ]
        )

    async def load_markdown(self, folders: Iterable[Path], *, modes: Iterable[Path] = ()) -> None:
        """Apply the Markdown agents found in ``folders`` (see ``agent_dirs``) and the
        legacy modes in ``modes`` (``mode_dirs``: primary agents), in order, as
        ``load_definitions`` does. A file that cannot be used is skipped with a warning
        naming the file and the field, and kept in ``errors``: one bad agent file must
        not stop the others, or the client, from loading."""
        errors: list[ConfigError] = []
        definitions = read_markdown_definitions(modes, errors=errors, modes=True)
        definitions += read_markdown_definitions(folders, errors=errors)
        for error in errors:
            log.warning("skipping agent file: %s", error)
        self.errors += errors
        self._apply(definitions)

    def _apply(self, definitions: Iterable[AgentDefinition]) -> None:
        for definition in definitions:
            name = definition.agent.name
            base = self._configured.get(name) or builtin_agents_by_name().get(name)
            self._configured[name] = definition.apply(base)
            self._sources[name] = definition.source
            if definition.disable:
                self._disabled.add(name)
            elif definition.disable is False:
                self._disabled.discard(name)


async def _write_index(store: Store, names: Iterable[str]) -> None:
    """Registered agents are written before the index names them and dropped from it
    before they are deleted, so the index never names an agent that was not stored."""
    await store.set_state(INDEX_NAMESPACE, INDEX_KEY, sorted(names))
