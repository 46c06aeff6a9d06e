"""Answers for the user at the terminal: permission prompts and questions."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.prompt import Prompt
from rich.text import Text

from ..permissions.gate import PermissionReply, PermissionRequest, Reply
from ..tools.framework import Question

CHOICES: dict[str, Reply] = {"y": "once", "a": "always", "n": "reject"}


class ConsoleIO:
    """An ``IOHandler`` that asks on the terminal (blocking input runs in a thread).

    What the agent asks is shown as plain text (``Text``), never parsed as markup: a
    bash command or a question may well contain ``[brackets]``.
    """

    def __init__(self, console: Console) -> None:
        self.console = console

    async def confirm_permission(self, request: PermissionRequest) -> PermissionReply:
        subjects = ", ".join(request.patterns)
        self.console.print(
            Text.assemble(
                "\n",
                ("permission", "yellow"),
                f" {request.agent} wants ",
                (request.permission, "bold"),
                f" on {subjects}",
            )
        )
        for reason in request.unsure:
            self.console.print(Text.assemble(("  not understood: ", "red"), reason))
        if request.always_patterns:
            always = ", ".join(request.always_patterns)
            self.console.print(Text.assemble(("  always would allow: ", "dim"), always))
        answer = await asyncio.to_thread(
            Prompt.ask,
            "allow once (y), always (a), reject (n)",
            choices=list(CHOICES),
            default="y",
            console=self.console,
        )
        reply = CHOICES[answer]
        if reply == "reject":
            note = await asyncio.to_thread(
                Prompt.ask, "tell the agent why (optional)", default="", console=self.console
            )
            return PermissionReply("reject", note or None)
        return PermissionReply(reply)

    async def ask_questions(self, questions: list[Question]) -> list[str]:
        answers = []
        for question in questions:
            self.console.print(
                Text.assemble("\n", (question.header or "question", "cyan"), " ", question.question)
            )
            for number, option in enumerate(question.options, 1):
                self.console.print(f"  {number}. {option}")
            answer = await asyncio.to_thread(Prompt.ask, "answer", console=self.console)
            if answer.isdigit() and 0 < int(answer) <= len(question.options):
                answer = question.options[int(answer) - 1]
            answers.append(answer)
        return answers
