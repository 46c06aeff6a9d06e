"""The in-process model's name and limits, apart from its runtime: the catalog and the
default-model choice read them without importing the provider."""

MODEL_ID = "smollm2-135m"
#: The model's context window, in tokens (for the catalog; generation reads the model's).
CONTEXT_WINDOW = 8192
#: Output cap when the request sets none: at about 12 tokens/s, some 40 s of writing.
DEFAULT_MAX_OUTPUT = 512
