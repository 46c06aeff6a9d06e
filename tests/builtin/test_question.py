"""The question tool, answered by a question handler like an app's."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.question import QuestionTool
from opencode_python.tools.framework import Question, ToolContext


class Answerer:
    """Answers each question with its first option, or a fixed text when it has none."""

    def __init__(self, free_text: str = "blue") -> None:
        self.asked: list[list[Question]] = []
        self.free_text = free_text

    async def __call__(self, questions: list[Question]) -> list[str]:
        self.asked.append(questions)
        return [q.options[0] if q.options else self.free_text for q in questions]


def context(tmp_path: Path, handler: Answerer | None) -> ToolContext:
    return ToolContext(
        session_id="s", message_id="m", agent="build", directory=str(tmp_path), _on_question=handler
    )


async def test_questions_reach_the_handler_and_answers_the_model(tmp_path: Path) -> None:
    answerer = Answerer()
    args = {
        "questions": [
            {
                "question": "Which database?",
                "header": "Database",
                "options": [
                    {"label": "SQLite", "description": "One file, no server"},
                    {"label": "Postgres", "description": "A server"},
                ],
            },
            {"question": "Favourite colour?"},
        ]
    }
    result = await QuestionTool().execute(args, context(tmp_path, answerer))
    assert answerer.asked == [
        [
            Question(
                "Which database?",
                "Database",
                ["SQLite", "Postgres"],
                False,
                ["One file, no server", "A server"],
            ),
            Question("Favourite colour?", "", [], False),
        ]
    ]
    assert result.output == (
        "The user answered:\n"
        "1. Which database?\n   Answer: SQLite\n"
        "2. Favourite colour?\n   Answer: blue"
    )
    assert result.title == "Asked 2 questions"
    assert result.metadata == {"answers": ["SQLite", "blue"]}


async def test_missing_answers_are_marked(tmp_path: Path) -> None:
    async def answers_nothing(questions: list[Question]) -> list[str]:
        return []

    ctx = ToolContext(session_id="s", message_id="m", agent="build", _on_question=answers_nothing)
    result = await QuestionTool().execute({"questions": [{"question": "Ready?"}]}, ctx)
    assert result.output == "The user answered:\n1. Ready?\n   Answer: (no answer)"
    assert result.title == "Asked 1 question"


async def test_without_a_handler_the_error_says_how_to_add_one(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"No question handler is set"):
        await QuestionTool().execute(
            {"questions": [{"question": "Ready?"}]}, context(tmp_path, None)
        )


def test_schema_needs_at_least_one_question() -> None:
    schema = QuestionTool().parameters()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert validator.is_valid(
        {"questions": [{"question": "Q?", "multiple": True, "options": [{"label": "a"}]}]}
    )
    # plain-string options (before 0.2) are upgraded to OpenCode's form before validation
    old = {"questions": [{"question": "Q?", "options": ["a", {"label": "b"}]}]}
    assert not validator.is_valid(old)
    upgraded = QuestionTool().upgrade_arguments(old)
    assert upgraded["questions"][0]["options"] == [{"label": "a"}, {"label": "b"}]
    assert validator.is_valid(upgraded)
    assert not validator.is_valid({"questions": []})
    assert not validator.is_valid({"questions": [{"header": "no question"}]})
