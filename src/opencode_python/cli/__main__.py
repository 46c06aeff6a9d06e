"""``python -m opencode_python.cli``: the same as the ``opencode-python`` command."""

from .app import main

main()
