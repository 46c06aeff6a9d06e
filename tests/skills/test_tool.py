"""The ``skill`` tool: its per-instance description, its result, and a real run."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode_python import OpenCodeAsyncClient, SDKConfig, ToolContext
from opencode_python.core.errors import ToolError
from opencode_python.core.models import ToolPart
from opencode_python.skills import SkillLoader, SkillTool
from opencode_python.testing import ScriptedProvider, ScriptedToolCall, Turn
from opencode_python.tools.framework import ToolRegistry

from .support import write_skill


@pytest.fixture
def loader(tmp_path: Path) -> SkillLoader:
    skills = tmp_path / ".opencode" / "skills"
    pdf = write_skill(skills, "pdf", "Fill PDF forms.", body="Run `scripts/fill.py FILE`.")
    (pdf.parent / "scripts").mkdir()
    (pdf.parent / "scripts" / "fill.py").write_text("print('filled')\n", encoding="utf-8")
    (pdf.parent / "reference.md").write_text("# Fields\n", encoding="utf-8")
    write_skill(skills, "secret-keys", "Rotate the production keys.")
    return SkillLoader(tmp_path)


def context() -> ToolContext:
    return ToolContext(session_id="ses_1", message_id="msg_1", agent="build")


def test_the_description_lists_only_the_skills_allowed(loader: SkillLoader) -> None:
    everything = SkillTool(loader)
    public = SkillTool(loader, allowed=lambda name: not name.startswith("secret-"))

    assert "<name>pdf</name>" in everything.description
    assert "<name>secret-keys</name>" in everything.description
    assert "<description>Fill PDF forms.</description>" in public.description
    assert "secret-keys" not in public.description
    assert "Only these skills are available" in public.description


def test_an_agent_is_offered_only_the_allowed_skill_names(loader: SkillLoader) -> None:
    tool = SkillTool(loader)
    name = tool.parameters_for(lambda key, subject: subject != "secret-keys")["properties"]["name"]
    assert name["enum"] == ["pdf"]
    # With none allowed the name stays open (an empty enum would be unsatisfiable).
    none = tool.parameters_for(lambda key, subject: False)
    assert none == tool.parameters()


def test_the_description_says_when_there_are_none(tmp_path: Path) -> None:
    description = SkillTool(SkillLoader(tmp_path)).description
    assert description.endswith("No skills are available now.")
    assert "<available_skills>" not in description


async def test_the_registry_reads_each_instance_description(loader: SkillLoader) -> None:
    registry = ToolRegistry()
    everything = SkillTool(loader)
    only_pdf = SkillTool(loader, allowed=lambda name: name == "pdf")
    await registry.register(everything)
    await registry.register(only_pdf, "skill_pdf_only")

    assert registry.get_metadata("skill").description == everything.description
    assert registry.get_metadata("skill_pdf_only").description == only_pdf.description
    assert everything.description != only_pdf.description


def test_the_permission_subject_is_the_skill_name(loader: SkillLoader) -> None:
    assert SkillTool(loader).permission_patterns({"name": "pdf"}, context()) == ["pdf"]


async def test_execute_returns_the_content_with_its_base_directory(loader: SkillLoader) -> None:
    skill = loader.get_skill_by_name("pdf")
    assert skill is not None

    result = await SkillTool(loader).execute({"name": "pdf"}, context())

    assert result.title == "Loaded skill: pdf"
    assert result.output.startswith("## Skill: pdf\n")
    assert f"**Base directory**: {skill.directory}" in result.output
    assert "Run `scripts/fill.py FILE`." in result.output
    assert result.output.endswith("- reference.md\n- scripts/fill.py")
    assert "SKILL.md" not in result.output
    assert result.metadata == {"name": "pdf", "path": str(skill.path)}


async def test_unknown_or_refused_skills_are_errors_naming_the_available_ones(
    loader: SkillLoader,
) -> None:
    tool = SkillTool(loader, allowed=lambda name: name == "pdf")
    with pytest.raises(ToolError, match=r"Skill 'nope' not found\. Available skills: pdf\."):
        await tool.execute({"name": "nope"}, context())
    with pytest.raises(ToolError, match=r"Skill 'secret-keys' not found"):
        await tool.execute({"name": "secret-keys"}, context())


async def test_a_run_loads_a_skill_and_permission_rules_refuse_others(
    loader: SkillLoader, tmp_path: Path
) -> None:
    model = ScriptedProvider(
        [
            Turn(
                tool_calls=[
                    ScriptedToolCall("skill", {"name": "pdf"}),
                    ScriptedToolCall("skill", {"name": "secret-keys"}),
                ]
            ),
            Turn(text="Done."),
        ],
        id="openai",
    )
    config = SDKConfig(
        storage_path=tmp_path / "data",
        project_dir=tmp_path,
        model="openai/gpt-4.1-mini",
        builtin_tools=False,
        permission={"skill": {"*": "allow", "secret-*": "deny"}},
    )
    async with OpenCodeAsyncClient(config) as client:
        client.register_provider(model)
        await client.register_tool(SkillTool(loader))
        session = await client.create_session()
        result = await client.prompt(session.id, "Fill the form.")

    offered = model.requests[0].tools[0]
    assert offered.name == "skill"
    assert "<name>pdf</name>" in offered.description
    loaded, refused = [p for p in result.parts if isinstance(p, ToolPart)]
    assert loaded.state.status == "completed"
    assert loaded.state.output is not None
    assert loaded.state.output.startswith("## Skill: pdf")
    assert refused.state.status == "error"
    assert refused.state.error is not None
    assert "secret-keys" in refused.state.error
