"""The permission gate: evaluates rules for a tool call and, on ``ask``, asks someone.

Rule sets are layered (defaults, config, agent, session, approvals) and the last match
wins. An ``ask`` goes to the approver callback when one is set; without one,
``auto_confirm`` decides. ``always`` answers become allow rules scoped to the project
and agent that received them, so an approval never leaks to another agent; with a
store they persist across restarts and can be listed and revoked.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.errors import PermissionDeniedError
from ..core.models import Approval, PermissionRule
from ..storage.contract import Store
from .rules import Ruleset, allowed_outright, default_rules, evaluate
from .wildcard import escape

Reply = Literal["once", "always", "reject"]


@dataclass(slots=True)
class PermissionRequest:
    """What an approver is asked: may ``agent`` use ``permission`` on ``patterns``?

    ``always_patterns`` are the rules an ``always`` answer adds, exactly as they will be
    stored: show them to the user before they agree. ``unsure`` lists what the tool
    could not understand about the call (the reason it is asked at all, when it is).
    """

    permission: str
    patterns: list[str]
    agent: str
    session_id: str
    tool: str | None = None
    call_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    always_patterns: list[str] = field(default_factory=list)
    unsure: list[str] = field(default_factory=list)
    message_id: str | None = None


@dataclass(slots=True)
class PermissionReply:
    """The answer: ``once``, ``always`` or ``reject``, with an optional note for the model."""

    reply: Reply
    message: str | None = None


ApproverResult = PermissionReply | Reply
Approver = Callable[[PermissionRequest], Awaitable[ApproverResult] | ApproverResult]


class PermissionGate:
    """Decides tool calls for one client. ``always`` approvals live in ``approvals``."""

    def __init__(
        self,
        *,
        config_rules: Sequence[PermissionRule] = (),
        auto_confirm: bool = False,
        approver: Approver | None = None,
        store: Store | None = None,
    ) -> None:
        self.config_rules: Ruleset = list(config_rules)
        self.auto_confirm = auto_confirm
        self.approver = approver
        self.store = store
        self._approvals: dict[tuple[str, str], Ruleset] = {}

    async def approvals(self, project_id: str, agent: str) -> Ruleset:
        """The allow rules ``always`` answers gave this agent in this project."""
        key = (project_id, agent)
        cached = self._approvals.get(key)
        if cached is None:
            stored = await self.store.list_approvals(project_id, agent=agent) if self.store else []
            cached = self._approvals[key] = [a.rule() for a in stored]
        return cached

    async def approve(self, project_id: str, agent: str, permission: str, pattern: str) -> None:
        """Allow ``permission`` on ``pattern`` for this agent and project from now on."""
        rules = await self.approvals(project_id, agent)
        rule = PermissionRule(permission=permission, pattern=pattern, action="allow")
        if rule not in rules:
            rules.append(rule)
        if self.store is not None:
            await self.store.add_approval(
                Approval(project_id=project_id, agent=agent, permission=permission, pattern=pattern)
            )

    async def revoke(self, project_id: str, agent: str, permission: str, pattern: str) -> bool:
        """Take an approval back; False when there was none."""
        rules = await self.approvals(project_id, agent)
        rule = PermissionRule(permission=permission, pattern=pattern, action="allow")
        found = rule in rules
        if found:
            rules.remove(rule)
        if self.store is not None:
            found = (
                await self.store.delete_approval(project_id, agent, permission, pattern) or found
            )
        return found

    def rules_for(
        self,
        *,
        project_id: str,
        agent: str,
        agent_rules: Sequence[PermissionRule] = (),
        session_rules: Sequence[PermissionRule] = (),
        agent_defaults: Sequence[PermissionRule] = (),
    ) -> Ruleset:
        """The rules that apply to ``agent``, in evaluation order (the last match wins),
        before approvals: the defaults, the rules a built-in agent ships with
        (``agent_defaults``), the config's, the agent's own, the session's. As in
        OpenCode, the user's config overrides what a built-in such as ``plan`` allows.

        ``check`` adds the ``always`` approvals of the moment, so one given mid-run
        applies to the rest of that run.
        """
        return [
            *default_rules(),
            *agent_defaults,
            *self.config_rules,
            *agent_rules,
            *session_rules,
        ]

    async def check(
        self,
        request: PermissionRequest,
        rules: Sequence[PermissionRule],
        *,
        project_id: str,
        ceilings: Sequence[Sequence[PermissionRule]] = (),
    ) -> None:
        """Return when every pattern is allowed; raise ``PermissionDeniedError`` otherwise.

        ``ceilings`` are the rule sets of the runs that delegated to this one: each
        pattern gets the strictest answer of ``rules`` and every ceiling, so a subagent
        never widens what its parents may do. The error's message is written for the
        model: it says what was refused and why.
        """
        approvals = await self.approvals(project_id, request.agent)
        levels = [[*rules, *approvals], *([*c, *approvals] for c in ceilings)]
        asked: list[str] = []
        always: list[str] = []
        for index, pattern in enumerate(request.patterns):
            rule, inherited = _strictest(request.permission, pattern, levels)
            if rule.action == "deny":
                raise PermissionDeniedError(
                    f"Permission denied: {request.permission} {pattern!r} is not allowed for "
                    f"agent {request.agent!r} (rule {rule.permission} {rule.pattern!r} deny"
                    f"{', from the agent that delegated to it' if inherited else ''}). "
                    "Do not retry this call; try another approach or ask the user."
                )
            if rule.action == "ask":
                asked.append(pattern)
                always.append(_always_for(request, index))
        if request.unsure and not all(
            allowed_outright(request.permission, level) for level in levels
        ):
            # What could not be understood is never allowed by a pattern: ask about all.
            asked = list(request.patterns)
            always = [_always_for(request, index) for index in range(len(asked))]
        if not asked:
            return
        pending = PermissionRequest(
            permission=request.permission,
            patterns=asked,
            agent=request.agent,
            session_id=request.session_id,
            tool=request.tool,
            call_id=request.call_id,
            metadata=request.metadata,
            always_patterns=_always_patterns(request, always),
            unsure=request.unsure,
            message_id=request.message_id,
        )
        reply = await self._ask(pending)
        if reply.reply == "reject":
            note = f" The user said: {reply.message}" if reply.message else ""
            raise PermissionDeniedError(
                f"The user rejected permission for {request.permission} "
                f"{', '.join(repr(p) for p in asked)}.{note}",
                reason="rejected",
            )
        if reply.reply == "always":
            for pattern in pending.always_patterns:
                await self.approve(project_id, request.agent, request.permission, pattern)

    async def _ask(self, request: PermissionRequest) -> PermissionReply:
        if self.approver is None:
            if self.auto_confirm:
                return PermissionReply("once")
            raise PermissionDeniedError(
                f"Permission for {request.permission} "
                f"{', '.join(repr(p) for p in request.patterns)} needs approval, and no "
                "approver is set. The app can register one with client.on_permission(...), "
                "allow it in SDKConfig(permission=...), or set auto_confirm=True.",
                reason="rejected",
            )
        answer = self.approver(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, str):
            answer = PermissionReply(answer)
        if answer.reply not in ("once", "always", "reject"):
            raise PermissionDeniedError(
                f"the approver answered {answer.reply!r}; expected 'once', 'always' or 'reject'",
                reason="rejected",
            )
        return answer


def _only(subject: str) -> str:
    """The pattern an ``always`` stores for a subject: the subject alone, escaped. The
    subject ``*`` (a tool that names no subjects) stands for every call of the tool."""
    return subject if subject == "*" else escape(subject)


_STRICTNESS = {"allow": 0, "ask": 1, "deny": 2}


def _strictest(
    permission: str, subject: str, levels: Sequence[Sequence[PermissionRule]]
) -> tuple[PermissionRule, bool]:
    """The deciding rule of the strictest level, and whether it came from a ceiling."""
    decided = [evaluate(permission, subject, level) for level in levels]
    index = max(range(len(decided)), key=lambda i: (_STRICTNESS[decided[i].action], -i))
    return decided[index], index > 0


def _always_for(request: PermissionRequest, index: int) -> str:
    """The rule an ``always`` answer adds for ``request.patterns[index]``: the tool's
    own (``git status *``) when it gave one per subject, else the subject matching only
    itself."""
    if len(request.always_patterns) == len(request.patterns):
        return request.always_patterns[index]
    return _only(request.patterns[index])


def _always_patterns(request: PermissionRequest, per_subject: list[str]) -> list[str]:
    """What ``always`` stores: one rule per asked subject, or the tool's whole list when
    it gave rules that do not map onto its subjects one to one."""
    given = request.always_patterns
    if given and len(given) != len(request.patterns):
        return list(given)
    return list(dict.fromkeys(per_subject))
