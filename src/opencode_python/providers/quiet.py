"""Quiet model loading: no progress bars from libraries on the user's terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Load without transformers' progress bars and notices on stderr: loading a model
    (the embedder, the local chat model) is an implementation detail, not news for the
    user. The process's own settings are restored afterwards."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


@contextmanager
def quiet_gguf() -> Iterator[None]:
    """``quiet_transformers`` for a GGUF file too: transformers converts its tensors
    under a plain tqdm bar that no setting turns off, so that module's ``tqdm`` is
    swapped for a disabled one while the model loads."""
    from functools import partial

    from transformers import modeling_gguf_pytorch_utils as gguf

    bar = getattr(gguf, "tqdm", None)  # absent in a transformers that dropped it
    if bar is not None:
        setattr(gguf, "tqdm", partial(bar, disable=True))  # noqa: B010
    try:
        with quiet_transformers():
            yield
    finally:
        if bar is not None:
            setattr(gguf, "tqdm", bar)  # noqa: B010
