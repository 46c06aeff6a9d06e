"""Whether the local model can run here, as a pytest mark for the tests that load it.

Without the `local` extra and the model package those tests skip, saying what to
install; CI sets OPENCODE_PYTHON_REQUIRE_LOCAL_MODEL=1 so that a missing model fails
them instead of skipping them unseen.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from opencode_python import ConfigError
from opencode_python.providers.local_provider import INSTALL_COMMAND as INSTALL
from opencode_python.providers.local_provider import find_model_file

REQUIRE_ENV = "OPENCODE_PYTHON_REQUIRE_LOCAL_MODEL"


def local_model_installed() -> bool:
    if any(importlib.util.find_spec(name) is None for name in ("torch", "transformers", "gguf")):
        return False
    try:
        return find_model_file().is_file()
    except ConfigError:
        return False


if not local_model_installed() and os.environ.get(REQUIRE_ENV) == "1":
    raise RuntimeError(f"{REQUIRE_ENV}=1 but the local model is not installed: {INSTALL}")

needs_local_model = pytest.mark.skipif(
    not local_model_installed(), reason=f"the local model is not installed ({INSTALL})"
)
