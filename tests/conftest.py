"""Suite-wide setup: no test may reach a real model endpoint."""

import os

from opencode_python.providers.guard import BLOCK_ENV

os.environ[BLOCK_ENV] = "1"
