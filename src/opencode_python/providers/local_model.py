"""A GGUF chat model on CPU torch through transformers: load, encode, generate, score.

Imported by ``local_provider`` only inside worker threads, so that importing the
providers package never pays for torch and transformers (seconds). Loading
dequantizes the whole file (about 15 s for SmolLM2-135M), so each file is loaded
once per process and shared: several clients in one process use one model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
)

from .base import ToolSchema
from .local_constrained import (
    Complete,
    Done,
    Score,
    ToolChoice,
    constrained_call,
    constrained_json,
)
from .local_tool_calls import ParsedCall
from .quiet import quiet_gguf

ChatTurn = dict[str, str]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Generated:
    """What one generation cost, and whether it stopped at ``max_new_tokens``."""

    prompt_tokens: int
    output_tokens: int
    hit_limit: bool


class LoadedModel:
    """A model and its tokenizer. ``lock`` is held by whoever generates: two
    generations at once would only share the same few cores at half speed each."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self.context_window = int(model.config.max_position_embeddings)
        self.lock = threading.Lock()

    def encode(self, chat: list[ChatTurn]) -> list[int]:
        """Token ids of ``chat`` in the model's own chat template, ready for an answer.

        Control tokens inside the messages are encoded as plain text, so a message
        cannot close its turn and speak as another role.
        """
        ids: list[int] = self._tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_dict=False, sanitize_control_tokens=True
        )
        return ids

    def generate(
        self,
        prompt: list[int],
        *,
        max_new_tokens: int,
        settings: dict[str, Any],
        emit: Callable[[str], None],
        stop: threading.Event,
    ) -> Generated:
        """Generate in this thread, handing text to ``emit`` as it settles.

        Ends within one token once ``stop`` is set. ``settings`` are further keyword
        arguments for ``generate`` (sampling, and the caller's options).
        """
        input_ids = torch.tensor([prompt])
        output = self._model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens,
            streamer=_TextStreamer(self._tokenizer, emit),
            stopping_criteria=StoppingCriteriaList([_StopWhenSet(stop)]),
            pad_token_id=self._tokenizer.pad_token_id,
            **settings,
        )
        new_tokens: list[int] = output[0, len(prompt) :].tolist()
        hit_limit = len(new_tokens) >= max_new_tokens and (
            new_tokens[-1] != self._tokenizer.eos_token_id
        )
        return Generated(len(prompt), len(new_tokens), hit_limit)

    def call_tool(
        self,
        prompt: list[int],
        tools: Sequence[ToolSchema],
        choice: ToolChoice,
        *,
        max_new_tokens: int,
        settings: dict[str, Any],
        stop: threading.Event,
    ) -> tuple[ParsedCall, Generated] | None:
        """A call to one of ``tools`` as ``choice`` requires (``local_constrained``).

        None when ``stop`` is set first.
        """
        return self._constrained(
            prompt,
            lambda score, complete: constrained_call(
                tools, choice, score, complete, max_new_tokens
            ),
            settings=settings,
            stop=stop,
        )

    def answer_json(
        self,
        prompt: list[int],
        schema: dict[str, Any],
        *,
        max_new_tokens: int,
        settings: dict[str, Any],
        stop: threading.Event,
    ) -> tuple[Any, Generated] | None:
        """An answer valid under the JSON ``schema`` (``local_constrained``), as a value.

        None when ``stop`` is set first.
        """
        return self._constrained(
            prompt,
            lambda score, complete: constrained_json(schema, score, complete, max_new_tokens),
            settings=settings,
            stop=stop,
        )

    def _constrained(
        self,
        prompt: list[int],
        build: Callable[[Score, Complete], _T],
        *,
        settings: dict[str, Any],
        stop: threading.Event,
    ) -> tuple[_T, Generated] | None:
        """What ``build`` makes with this model's ``score`` and ``complete`` after ``prompt``.

        None when ``stop`` is set first. Every token scored or generated after the
        prompt counts as output; the prompt counts once, though each step rereads it.
        """
        output = 0

        def score(prefix: str, continuations: Sequence[str]) -> list[float]:
            nonlocal output
            if stop.is_set():
                raise _Stopped
            scores, tokens = self.score(prompt, prefix, continuations)
            output += tokens
            return scores

        def complete(prefix: str, done: Done, limit: int) -> str:
            nonlocal output
            if stop.is_set():
                raise _Stopped
            text, tokens = self.complete(
                prompt, prefix, done=done, max_new_tokens=limit, settings=settings, stop=stop
            )
            output += tokens
            return text

        try:
            built = build(score, complete)
        except _Stopped:
            return None
        return built, Generated(len(prompt), output, hit_limit=False)

    def score(
        self, prompt: list[int], prefix: str, continuations: Sequence[str]
    ) -> tuple[list[float], int]:
        """The log-likelihood of each continuation after ``prompt`` and ``prefix``, and
        how many continuation tokens that took: one forward pass over all of them.

        Each continuation is tokenized together with ``prefix``, as the model would
        write it; where the two merge into one token, that token counts as
        continuation. Rows are padded on the right, which causal attention never
        looks at, and only the last positions' logits are computed.
        """
        base = self._tokens(prefix)
        rows: list[list[int]] = []
        starts: list[int] = []
        for text in continuations:
            whole = self._tokens(prefix + text)
            rows.append(prompt + whole)
            starts.append(len(prompt) + _shared_length(base, whole))
        width = max(len(row) for row in rows)
        first = min(starts) - 1  # the position whose logits predict the first scored token
        pad = self._tokenizer.pad_token_id
        input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
        with torch.inference_mode():
            logits = self._model(input_ids=input_ids, logits_to_keep=width - first).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        scores = [
            sum(float(logprobs[i, p - 1 - first, row[p]]) for p in range(start, len(row)))
            for i, (row, start) in enumerate(zip(rows, starts, strict=True))
        ]
        return scores, sum(len(row) - start for row, start in zip(rows, starts, strict=True))

    def complete(
        self,
        prompt: list[int],
        prefix: str,
        *,
        done: Done,
        max_new_tokens: int,
        settings: dict[str, Any],
        stop: threading.Event,
    ) -> tuple[str, int]:
        """The model's continuation of ``prompt`` and ``prefix``, and its length in tokens.

        Ends once ``done`` holds for the text so far, at ``max_new_tokens``, at the end
        of the answer, or within one token once ``stop`` is set.
        """
        ids = prompt + self._tokens(prefix)
        input_ids = torch.tensor([ids])
        output = self._model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens,
            stopping_criteria=StoppingCriteriaList(
                [_StopWhenSet(stop), _StopWhenDone(self._tokenizer, len(ids), done)]
            ),
            pad_token_id=self._tokenizer.pad_token_id,
            **settings,
        )
        new_tokens: list[int] = output[0, len(ids) :].tolist()
        return self._decode(new_tokens), len(new_tokens)

    def _tokens(self, text: str) -> list[int]:
        ids: list[int] = self._tokenizer.encode(text, add_special_tokens=False)
        return ids

    def _decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(ids, skip_special_tokens=True)
        return text


def _shared_length(a: list[int], b: list[int]) -> int:
    """How many leading tokens ``a`` and ``b`` have in common."""
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


class _Stopped(Exception):
    """The consumer went away while a constrained answer was being built."""


_cache: dict[Path, LoadedModel] = {}
_cache_lock = threading.Lock()


def load(path: Path) -> LoadedModel:
    """The model in the GGUF file ``path``, loaded on first use and then shared.

    Reads only the local file (``local_files_only``): nothing here touches the network.
    """
    with _cache_lock:
        loaded = _cache.get(path)
        if loaded is None:
            options: dict[str, Any] = {"gguf_file": path.name, "local_files_only": True}
            with quiet_gguf():
                tokenizer = AutoTokenizer.from_pretrained(path.parent, **options)
                model = AutoModelForCausalLM.from_pretrained(path.parent, **options)
            loaded = _cache[path] = LoadedModel(model, tokenizer)
        return loaded


class _TextStreamer:
    """``generate``'s streamer: decodes the growing output and emits the new text.

    Decoding the whole output each time keeps multi-token characters whole; a
    trailing replacement character means one is still incomplete, so it waits.
    """

    def __init__(self, tokenizer: Any, emit: Callable[[str], None]) -> None:
        self._tokenizer = tokenizer
        self._emit = emit
        self._ids: list[int] = []
        self._sent = 0
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt itself
            self._prompt_seen = True
            return
        self._ids.extend(value.reshape(-1).tolist())
        text = self._decode()
        if not text.endswith("\ufffd"):
            self._send(text)

    def end(self) -> None:
        self._send(self._decode())

    def _decode(self) -> str:
        text: str = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        return text

    def _send(self, text: str) -> None:
        if len(text) > self._sent:
            self._emit(text[self._sent :])
            self._sent = len(text)


class _StopWhenSet(StoppingCriteria):
    """Ends generation at the next token once the consumer has gone away."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor | None, **kwargs: Any
    ) -> torch.BoolTensor:
        done: torch.BoolTensor = torch.full(  # type: ignore[assignment]
            (input_ids.shape[0],), self._event.is_set(), dtype=torch.bool
        )
        return done


class _StopWhenDone(StoppingCriteria):
    """Ends generation once ``done`` holds for the text after the first ``start`` tokens."""

    def __init__(self, tokenizer: Any, start: int, done: Done) -> None:
        self._tokenizer = tokenizer
        self._start = start
        self._done = done

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor | None, **kwargs: Any
    ) -> torch.BoolTensor:
        text = self._tokenizer.decode(
            input_ids[0, self._start :].tolist(), skip_special_tokens=True
        )
        finished: torch.BoolTensor = torch.full(  # type: ignore[assignment]
            (input_ids.shape[0],), self._done(text), dtype=torch.bool
        )
        return finished
