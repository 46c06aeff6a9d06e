"""opencode.json files: where they are read from, how they merge, what is normalised,
and errors that name the file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from opencode_python.config import (
    OpenCodeFileConfig,
    config_files,
    load_config,
    user_config_dir,
)
from opencode_python.core.errors import ConfigError
from opencode_python.providers.config import ProviderConfig
from opencode_python.sdk import SDKConfig


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, data: object) -> Path:
    """``data`` as indented JSON, one key a line, so that errors can name a line."""
    return write(path, json.dumps(data, indent=2))


# --- paths and discovery ---------------------------------------------------------------


def test_user_config_dir_follows_xdg_and_is_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_config_dir() == tmp_path / "xdg" / "opencode-python"
    assert not (tmp_path / "xdg").exists()


def test_no_files_gives_the_defaults(project: Path, worktree: Path) -> None:
    loaded = load_config(project, worktree=worktree)
    assert loaded.sources == []
    assert loaded.config == OpenCodeFileConfig()


def test_files_apply_from_the_user_dir_down_to_the_project(
    user_dir: Path, repo: Path, project: Path, worktree: Path
) -> None:
    user = write_json(user_dir / "opencode.json", {"model": "u/m", "small_model": "u/small"})
    root = write_json(repo / "opencode.json", {"model": "root/m"})
    root_dot = write_json(repo / ".opencode" / "opencode.jsonc", {"model": "root-dot/m"})
    middle = write_json(repo / "packages" / "opencode.jsonc", {"model": "middle/m"})
    here_jsonc = write_json(project / "opencode.jsonc", {"model": "jsonc/m"})
    here_json = write_json(project / "opencode.json", {"model": "json/m"})
    dot = write_json(project / ".opencode" / "opencode.json", {"model": "dot/m"})
    write_json(repo.parent / "opencode.json", {"model": "above-the-worktree/m"})

    loaded = load_config(project, worktree=worktree)

    # beside each other, .jsonc wins over .json, as in OpenCode
    assert loaded.sources == [user, root, root_dot, middle, here_json, here_jsonc, dot]
    assert loaded.config.model == "dot/m"
    assert loaded.config.small_model == "u/small"
    dot.unlink()
    assert load_config(project, worktree=worktree).config.model == "jsonc/m"


def test_opencodes_own_global_files_are_read_under_this_sdks(
    user_dir: Path, project: Path, worktree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OpenCode user's ~/.config/opencode and ~/.opencode load as they are; this
    SDK's own folder wins over both, the project over everything."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    opencode = user_dir.parent / "opencode"
    legacy = write_json(opencode / "config.json", {"model": "legacy/m", "small_model": "l/s"})
    theirs = write_json(opencode / "opencode.json", {"model": "opencode/m"})
    dot_home = write_json(tmp_path / "home" / ".opencode" / "opencode.json", {"model": "home/m"})
    ours = write_json(user_dir / "opencode.jsonc", {"model": "ours/m"})
    loaded = load_config(project, worktree=worktree)
    assert loaded.sources == [legacy, theirs, dot_home, ours]
    assert (loaded.config.model, loaded.config.small_model) == ("ours/m", "l/s")
    here = write_json(project / "opencode.json", {"model": "here/m"})
    assert load_config(project, worktree=worktree).sources[-1] == here


def test_without_a_worktree_only_the_project_dir_is_read(repo: Path, project: Path) -> None:
    write_json(repo / "opencode.json", {"model": "root/m"})
    write_json(project / "opencode.json", {"small_model": "here/s"})
    config = load_config(project).config
    assert (config.model, config.small_model) == (None, "here/s")


def test_a_project_outside_the_worktree_reads_only_itself(tmp_path: Path, repo: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_json(elsewhere / "opencode.json", {"model": "here/m"})
    write_json(repo / "opencode.json", {"small_model": "repo/s"})
    config = load_config(elsewhere, worktree=repo).config
    assert (config.model, config.small_model) == ("here/m", None)


def test_an_explicit_user_dir_replaces_the_default(
    tmp_path: Path, user_dir: Path, project: Path
) -> None:
    write_json(user_dir / "opencode.json", {"model": "default/m"})
    mine = write_json(tmp_path / "mine" / "opencode.json", {"model": "mine/m"})
    assert config_files(project, user_dir=mine.parent) == [mine]
    assert load_config(project, user_dir=mine.parent).config.model == "mine/m"


# --- merging ----------------------------------------------------------------------------


def test_mappings_merge_per_key_and_other_values_are_replaced(
    user_dir: Path, project: Path, worktree: Path
) -> None:
    write_json(
        user_dir / "opencode.json",
        {
            "provider": {
                "local": {"options": {"baseURL": "http://127.0.0.1:1/v1", "apiKey": "user"}}
            },
            "agent": {"review": {"temperature": 0.1, "tools": {"bash": False, "edit": False}}},
            "permission": {"bash": "ask", "edit": "deny"},
        },
    )
    write_json(
        project / "opencode.json",
        {
            "provider": {"local": {"options": {"apiKey": "project"}}},
            "agent": {"review": {"tools": {"bash": True}, "prompt": "Review."}},
            "permission": {"edit": "allow"},
        },
    )
    config = load_config(project, worktree=worktree).config
    assert config.provider == {
        "local": {
            "base_url": "http://127.0.0.1:1/v1",
            "api_key": "project",
        }
    }
    assert config.agent == {
        "review": {"temperature": 0.1, "tools": {"bash": True, "edit": False}, "prompt": "Review."}
    }
    assert config.permission == {"bash": "ask", "edit": "allow"}

    write_json(project / ".opencode" / "opencode.json", {"permission": "allow"})
    assert load_config(project, worktree=worktree).config.permission == "allow"


def test_instruction_paths_stay_as_written_and_add_up(
    user_dir: Path, repo: Path, project: Path, worktree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(repo.parent / "home"))
    write_json(user_dir / "opencode.json", {"instructions": ["rules/*.md"]})
    write_json(repo / "opencode.json", {"instructions": ["docs/STYLE.md", "/abs/x.md"]})
    write_json(
        project / ".opencode" / "opencode.json",
        {"instructions": ["local.md", "~/notes.md", "../../docs/STYLE.md"]},
    )
    write_json(project / "opencode.json", {"instructions": ["/abs/x.md"]})
    config = load_config(project, worktree=worktree).config
    # relative entries are found from the project dir up (find_instruction_files), as
    # OpenCode does, not from the file that names them
    assert config.instructions == [
        "rules/*.md",
        "docs/STYLE.md",
        "/abs/x.md",
        "local.md",
        str(repo.parent / "home" / "notes.md"),
        "../../docs/STYLE.md",
    ]


def test_instruction_urls_are_dropped_with_a_warning(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_json(
        project / "opencode.json", {"instructions": ["https://example.com/rules.md", "a.md"]}
    )
    with caplog.at_level(logging.WARNING, logger="opencode_python.config"):
        config = load_config(project).config
    assert config.instructions == ["a.md"]
    assert "https://example.com/rules.md is a URL" in caplog.text


def test_skills_take_a_list_or_paths_and_add_up(
    user_dir: Path, project: Path, worktree: Path
) -> None:
    write_json(user_dir / "opencode.json", {"skills": ["my-skills"]})
    write_json(project / "opencode.json", {"skills": {"paths": ["skills", "/opt/skills"]}})
    # relative skill paths are the project dir's (SkillLoader), as in OpenCode
    assert load_config(project, worktree=worktree).config.skills == [
        "my-skills",
        "skills",
        "/opt/skills",
    ]


# --- JSONC and substitution ---------------------------------------------------------------


def test_comments_and_trailing_commas_are_allowed(project: Path) -> None:
    write(
        project / "opencode.jsonc",
        """\ufeff{
          // the default model
          "model": "openai/gpt-4.1-mini", /* inline */
          "agent": {
            "review": {"prompt": "Keep // and /* */ inside strings.",},
          },
          "instructions": ["a.md", "b.md",],
        }
        """,
    )
    config = load_config(project).config
    assert config.model == "openai/gpt-4.1-mini"
    assert config.agent["review"]["prompt"] == "Keep // and /* */ inside strings."
    assert len(config.instructions) == 2


def test_empty_file_is_an_empty_config(project: Path) -> None:
    path = write(project / "opencode.json", "  \n")
    loaded = load_config(project)
    assert loaded.sources == [path]
    assert loaded.config == OpenCodeFileConfig()


def test_env_and_file_references_are_substituted(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_KEY", "sk-test")
    monkeypatch.setenv("SNEAKY", "{file:secret.txt}")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    write(project / "prompts" / "review.md", "\n  Review carefully.\n\n")
    write(project / "secret.txt", "do not read me")
    write_json(
        project / "opencode.json",
        {
            "provider": {"local": {"options": {"apiKey": "{env:MY_KEY}"}}},
            "agent": {
                "review": {
                    "prompt": "{file:prompts/review.md}",
                    "description": "[{env:UNSET_VAR}] {env:SNEAKY}",
                }
            },
        },
    )
    config = load_config(project).config
    assert config.provider["local"]["api_key"] == "sk-test"
    assert config.agent["review"]["prompt"] == "Review carefully."
    assert config.agent["review"]["description"] == "[] {file:secret.txt}"


def test_file_references_are_relative_to_the_config_file(
    user_dir: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(project / "home"))
    write(user_dir / "prompt.txt", "from the user dir")
    write(project / "home" / "p.txt", "from home")
    write_json(
        user_dir / "opencode.json",
        {"agent": {"a": {"prompt": "{file:./prompt.txt}"}, "b": {"prompt": "{file:~/p.txt}"}}},
    )
    agent = load_config(project).config.agent
    assert (agent["a"]["prompt"], agent["b"]["prompt"]) == ("from the user dir", "from home")


def test_a_missing_file_reference_names_the_config_and_the_field(project: Path) -> None:
    path = write_json(
        project / "opencode.json", {"agent": {"review": {"prompt": "{file:missing.md}"}}}
    )
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    message = str(caught.value)
    assert message.startswith(f"{path}:4: agent.review.prompt: cannot read {{file:missing.md}}")
    assert str(project / "missing.md") in message


# --- providers ------------------------------------------------------------------------------


def test_opencode_provider_entries_become_provider_config_fields(project: Path) -> None:
    write(
        project / "opencode.json",
        """{
          "provider": {
            "local": {
              "npm": "@ai-sdk/openai-compatible",
              "name": "My server",
              "options": {
                "baseURL": "http://127.0.0.1:8080/v1",
                "apiKey": "k",
                "headers": {"X-Team": "a"},
                "timeout": 30000,
                "setCacheKey": true,
                "reasoning_effort": "low"
              },
              "models": {
                "m1": {
                  "name": "Model one",
                  "limit": {"context": 128000, "output": 8000},
                  "cost": {"input": 1.5, "output": 6, "cache_read": 0.1}
                }
              }
            },
            "anthropic": {"npm": "@ai-sdk/anthropic", "options": {"timeout": false}},
            "plain": {"api_key": "snake", "base_url": "http://127.0.0.1:9/v1"},
            "both": {"apiKey": "outer", "options": {"apiKey": "inner"}}
          }
        }""",
    )
    providers = load_config(project).config.provider
    assert providers["local"] == {
        "name": "My server",
        "kind": "openai",
        "api_key": "k",
        "base_url": "http://127.0.0.1:8080/v1",
        "options": {
            "setCacheKey": True,  # kept; the client holds it as metadata, never sent
            "reasoning_effort": "low",
            "extra_headers": {"X-Team": "a"},
            "timeout": 30.0,
        },
        "models": {
            "m1": {
                "context_window": 128000,
                "max_output": 8000,
                "input_price": 1.5,
                "output_price": 6,
                "cache_read_price": 0.1,
            }
        },
    }
    assert providers["anthropic"] == {"kind": "anthropic", "options": {"timeout": None}}
    assert providers["plain"] == {"api_key": "snake", "base_url": "http://127.0.0.1:9/v1"}
    assert providers["both"]["api_key"] == "outer"

    # What the lead wires: each entry is a valid ProviderConfig, and SDKConfig takes them.
    local = ProviderConfig(provider_id="local", **providers["local"])
    assert local.resolve_api_key() == "k"
    assert local.models["m1"].context_window == 128000
    sdk = SDKConfig(providers=providers)
    assert sdk.providers["anthropic"].kind == "anthropic"


def test_each_top_level_key_this_sdk_ignores_gets_one_warning(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        project / "opencode.json",
        """{
  "$schema": "https://opencode.ai/config.json",
  "theme": "dark",
  "formatter": {"prettier": {"disabled": true}},
  "permision": {"bash": "deny"},
  "provider": {
    "p": {
      "env": ["P_KEY"],
      "options": {"setCacheKey": true, "custom": 1},
      "models": {"m": {"name": "M", "limit": {"context": 10, "extra": 1}}}
    }
  },
  "agent": {"a": {"unknown_to_us": 1}}
}""",
    )
    with caplog.at_level(logging.DEBUG, logger="opencode_python.config"):
        config = load_config(project).config
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"{path}:3: `theme` is an OpenCode TUI feature; ignored here",
        f"{path}:4: `formatter` is OpenCode's formatter integration; ignored here",
        f"{path}:5: `permision` is not an OpenCode setting (did you mean 'permission'?); "
        "ignored here",
    ]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug == [
        f"{path}: ignoring settings this SDK does not use: provider.p.env, "
        "provider.p.models.m.name, provider.p.models.m.limit.extra"
    ]
    assert config.agent == {"a": {"unknown_to_us": 1}}
    assert config.permission is None  # the misspelt key is not read as permission


def test_top_level_tools_default_agent_mode_and_command_are_read(project: Path) -> None:
    write_json(
        project / "opencode.json",
        {
            "tools": {"bash": False, "write": False},
            "default_agent": "plan",
            "mode": {"docs": {"prompt": "Write docs.", "model": "p/m"}},
            "agent": {"docs": {"temperature": 0.2}},
            "command": {"review": {"template": "Review $ARGUMENTS"}},
        },
    )
    config = load_config(project).config
    assert config.tools == {"bash": False, "write": False}
    assert config.default_agent == "plan"
    assert config.agent["docs"] == {
        "temperature": 0.2,
        "prompt": "Write docs.",
        "model": "p/m",
        "mode": "primary",
    }
    assert config.command == {"review": {"template": "Review $ARGUMENTS"}}


# --- errors -----------------------------------------------------------------------------------


def test_invalid_json_names_the_file_line_and_column(project: Path) -> None:
    path = write(project / "opencode.json", '{\n  "model": "a/b"\n  "small_model": "c/d"\n}\n')
    with pytest.raises(ConfigError, match="invalid JSON") as caught:
        load_config(project)
    assert str(caught.value).startswith(f"{path}:3:3: invalid JSON: unexpected '\"'")


def test_truncated_json_says_the_file_ended(project: Path) -> None:
    path = write(project / "opencode.jsonc", '{"model": ')
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    assert str(caught.value).startswith(f"{path}:1:11: invalid JSON: unexpected end of file")


def test_a_wrong_type_names_the_file_line_and_field(user_dir: Path, project: Path) -> None:
    write_json(user_dir / "opencode.json", {"model": "fine/model"})
    path = write_json(project / "opencode.json", {"agent": {"review": {"temperature": "hot"}}})
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    assert str(caught.value) == (
        f"{path}:4: agent.review.temperature: Input should be a valid number"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"instructions": ["a.md", 3]}, "2: instructions[1]: Input should be a valid string"),
        ({"instructions": "a.md"}, "2: instructions: Input should be a valid list"),
        ({"model": "gpt-4"}, "2: model: 'gpt-4' should be named 'provider/model'"),
        (
            {"provider": {"p": {"options": {"timeout": "soon"}}}},
            "5: provider.p.options.timeout: should be a positive number of milliseconds",
        ),
        (
            {"provider": {"p": {"models": {"m": {"limit": {"context": 0}}}}}},
            "7: provider.p.models.m.limit.context: Input should be greater than 0",
        ),
        ({"agent": {"a": {"mode": "main"}}}, "4: agent.a.mode: Input should be 'primary', "),
        ({"agent": {"a": None}}, "3: agent.a: Input should be an object ({...})"),
        ({"provider": {"p": {"options": []}}}, "4: provider.p.options: Input should be an object"),
    ],
)
def test_field_errors_name_the_line_and_field_path(
    project: Path, data: object, expected: str
) -> None:
    path = write_json(project / "opencode.json", data)
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    assert str(caught.value).startswith(f"{path}:{expected}")


def test_the_line_is_the_key_s_own_not_a_comment_or_a_value_that_looks_like_it(
    project: Path,
) -> None:
    path = write(
        project / "opencode.jsonc",
        """{
          // "agent": {"review": {"temperature": 1}},
          /* agent: {review: {temperature: 2}} */
          "instructions": ["agent: review: temperature: 3"],
          agent: {
            'other': {"prompt": "a \\"review\\": {\\"temperature\\": 4}"},
            review: {
              "temperature": "hot",
            },
          },
        }""",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    assert str(caught.value).startswith(f"{path}:8: agent.review.temperature: ")


def test_the_top_level_must_be_an_object(project: Path) -> None:
    path = write(project / "opencode.json", "[1, 2]")
    with pytest.raises(ConfigError, match="must be a JSON object") as caught:
        load_config(project)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_file_that_is_not_utf8_is_named(project: Path) -> None:
    path = project / "opencode.json"
    path.write_bytes(b'{"model": "\xff"}')
    with pytest.raises(ConfigError, match="not UTF-8") as caught:
        load_config(project)
    assert str(path) in str(caught.value)


def test_a_file_reached_twice_is_read_once(project: Path) -> None:
    path = write_json(project / "opencode.json", {"instructions": ["a.md"]})
    assert config_files(project, user_dir=project) == [path]
    assert load_config(project, user_dir=project).config.instructions == ["a.md"]


def test_ignored_sections_are_not_substituted_and_unset_variables_warn(
    project: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ~/.config/opencode/opencode.json: an `lsp` entry reads a token file this
    machine lacks (no error: the section is ignored), a provider key from an unset
    variable (a warning: it reads as empty)."""
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    path = write(
        project / "opencode.json",
        """{
  "lsp": {"gh": {"command": ["gh-lsp", "{file:~/.secrets/missing-token}"]}},
  "provider": {"p": {"options": {"apiKey": "{env:NOT_SET_ANYWHERE}"}}}
}""",
    )
    with caplog.at_level(logging.WARNING, logger="opencode_python.config"):
        config = load_config(project).config
    assert config.provider["p"]["api_key"] == ""
    assert f"{path}:3: provider.p.options.apiKey: {{env:NOT_SET_ANYWHERE}} is not set" in (
        caplog.text
    )


def test_enabled_and_disabled_providers_are_read(project: Path) -> None:
    write_json(
        project / "opencode.json",
        {"enabled_providers": ["a", "b"], "disabled_providers": ["b"]},
    )
    config = load_config(project).config
    assert (config.enabled_providers, config.disabled_providers) == (["a", "b"], ["b"])
