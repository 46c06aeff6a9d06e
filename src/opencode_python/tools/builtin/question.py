"""The ``question`` tool: the model asks the user and waits for the answers.

The app answers through its question handler (``client.on_question``); without one the
call fails with a message saying so, and the model carries on without asking.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from ..framework import Question, Tool, ToolContext, ToolResult
from .filesystem import tool_schema

DESCRIPTION = """\
Ask the user one or more questions and wait for the answers.

Use it when you need the user's preference, a decision between options, or \
information only they have, before going on. Do not use it for things you can find \
out yourself.

- Each question has the `question` text and a short `header` (a label of a few words).
- Give `options` when there is a set of likely answers; the user may still answer \
freely. Set `multiple` when more than one option may be chosen.
- Ask related questions together in one call.
"""


class QuestionOption(BaseModel):
    """One answer to choose from, as OpenCode's question tool takes it."""

    label: str = Field(min_length=1, description="Display text (1-5 words, concise).")
    description: str = Field(default="", description="Explanation of the choice.")


class QuestionParam(BaseModel):
    """One question of a ``question`` call."""

    question: str = Field(min_length=1, description="The full question.")
    header: str = Field(default="", description="A short label for it (a few words).")
    options: list[QuestionOption] = Field(
        default_factory=list, description="Answers to choose from."
    )
    multiple: bool = Field(default=False, description="Whether several options may be chosen.")

    @field_validator("options", mode="before")
    @classmethod
    def _plain_labels(cls, value: Any) -> Any:
        return _labelled(value)


def _labelled(options: Any) -> Any:
    """Options given as plain strings, as before 0.2, as ``{"label": ...}``."""
    if isinstance(options, list):
        return [{"label": o} if isinstance(o, str) else o for o in options]
    return options


class QuestionParams(BaseModel):
    """The arguments of a ``question`` call."""

    questions: list[QuestionParam] = Field(min_length=1, description="The questions to ask.")


class QuestionTool(Tool):
    """Asks the user through ``ctx.ask_user``."""

    id = "question"
    description = DESCRIPTION

    def parameters(self) -> dict[str, Any]:
        return tool_schema(QuestionParams)

    def upgrade_arguments(self, args: dict[str, Any]) -> dict[str, Any]:
        """Options as plain strings (before 0.2) become ``{"label": ...}``."""
        questions = args.get("questions")
        if not isinstance(questions, list) or not any(
            isinstance(q, dict) and any(isinstance(o, str) for o in q.get("options") or [])
            for q in questions
        ):
            return args
        upgraded = [
            {**q, "options": _labelled(q.get("options"))} if isinstance(q, dict) else q
            for q in questions
        ]
        return {**args, "questions": upgraded}

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = QuestionParams.model_validate(args)
        questions = [
            Question(
                question=q.question,
                header=q.header,
                options=[o.label for o in q.options],
                multiple=q.multiple,
                option_descriptions=[o.description for o in q.options],
            )
            for q in params.questions
        ]
        answers = await ctx.ask_user(questions)
        answers = [*answers[: len(questions)], *[""] * (len(questions) - len(answers))]
        lines = ["The user answered:"]
        for number, (question, answer) in enumerate(zip(questions, answers, strict=True), 1):
            lines.append(f"{number}. {question.question}\n   Answer: {answer or '(no answer)'}")
        count = len(questions)
        return ToolResult(
            title=f"Asked {count} question{'s' if count > 1 else ''}",
            output="\n".join(lines),
            metadata={"answers": answers},
        )
