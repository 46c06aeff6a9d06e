"""Assembling what the model sees: system prompt and history."""
