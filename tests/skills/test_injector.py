"""The system-prompt text made from skills: the list, the full content, the budget."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opencode_python.core.errors import ConfigError
from opencode_python.skills import Skill, SkillInjector
from opencode_python.skills.injector import SECTION_INSTRUCTION


def make_skill(name: str, description: str = "", content: str = "Steps.") -> Skill:
    directory = Path("/skills") / name
    return Skill(
        name=name,
        description=description or f"Use for {name}.",
        path=directory / "SKILL.md",
        directory=directory,
        content=content,
        source="project",
    )


def test_section_lists_names_and_descriptions_sorted() -> None:
    injector = SkillInjector([make_skill("zeta"), make_skill("alpha", "Alpha & <omega>.")])
    assert injector.section() == "\n".join(
        [
            SECTION_INSTRUCTION,
            "<available_skills>",
            "  <skill>",
            "    <name>alpha</name>",
            "    <description>Alpha &amp; &lt;omega&gt;.</description>",
            "  </skill>",
            "  <skill>",
            "    <name>zeta</name>",
            "    <description>Use for zeta.</description>",
            "  </skill>",
            "</available_skills>",
        ]
    )
    assert "`skill` tool" in SECTION_INSTRUCTION


def test_section_shows_only_allowed_skills_and_is_empty_without_any() -> None:
    injector = SkillInjector([make_skill("public"), make_skill("secret")])
    section = injector.section(allowed=lambda name: name != "secret")
    assert "<name>public</name>" in section
    assert "secret" not in section
    assert injector.section(allowed=lambda name: False) == ""
    assert SkillInjector([]).section() == ""


def test_section_stops_at_the_budget_and_names_what_it_left_out() -> None:
    skills = [make_skill(f"skill-{i}", "d" * 100) for i in range(5)]
    injector = SkillInjector(skills, budget_chars=400)  # each entry is 177 characters
    section = injector.section()
    assert section.count("<skill>") == 2
    assert section.endswith(
        "(3 more not listed, to save space: skill-2, skill-3, skill-4. "
        "The `skill` tool loads them by name.)"
    )


def test_full_content_has_name_base_directory_and_body_in_the_order_asked() -> None:
    injector = SkillInjector([make_skill("one", content="First."), make_skill("two")])
    text = injector.full_content(["two", "one", "two"])
    assert text.index("## Skill: two") < text.index("## Skill: one")
    assert text.count("## Skill: two") == 1
    assert f"**Base directory**: {Path('/skills/one')}" in text
    assert "First." in text
    assert "Left out" not in text


def test_full_content_skips_unknown_and_refused_names(caplog: pytest.LogCaptureFixture) -> None:
    injector = SkillInjector([make_skill("one"), make_skill("two")])
    with caplog.at_level(logging.WARNING, logger="opencode_python.skills"):
        text = injector.full_content(["ghost", "one", "two"], allowed=lambda n: n != "two")
    assert "## Skill: one" in text
    assert "## Skill: two" not in text
    assert any("'ghost'" in r.getMessage() for r in caplog.records)
    assert injector.full_content([]) == ""
    assert injector.full_content(["two"], allowed=lambda n: False) == ""


def test_full_content_stops_at_the_budget_with_a_note() -> None:
    skills = [make_skill(n, content="x" * 200) for n in ("a", "b", "c")]
    one = len(SkillInjector(skills).full_content(["a"]))
    injector = SkillInjector(skills, budget_chars=one * 2 + 2)  # two blocks and their gap

    text = injector.full_content(["a", "b", "c"])

    assert text.count("## Skill:") == 2
    assert text.endswith(
        f"[Left out to stay within {one * 2 + 2} characters: c. "
        "The `skill` tool loads them by name.]"
    )


def test_a_first_skill_over_the_budget_leaves_only_the_note() -> None:
    injector = SkillInjector([make_skill("big", content="x" * 500)], budget_chars=100)
    assert injector.full_content(["big"]) == (
        "[Left out to stay within 100 characters: big. The `skill` tool loads them by name.]"
    )


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="budget_chars"):
        SkillInjector([], budget_chars=0)
