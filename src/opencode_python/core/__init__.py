"""Layer 1: ids, errors, models and the event bus. No I/O."""
