"""The installed package version, stamped on every session."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("opencode-python")
except PackageNotFoundError:  # running from a source tree without metadata
    VERSION = "0.0.0"
