"""Doom-loop detection: repeats and cycles of identical calls, across the whole session."""

from __future__ import annotations

from collections import deque
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from opencode_python.tools.doom_loop import Call, DoomLoopDetector, canonical_call

READ_A = canonical_call("read", {"path": "a.py"})
READ_B = canonical_call("read", {"path": "b.py"})
GREP = canonical_call("grep", {"pattern": "todo", "path": "."})
LS = canonical_call("ls", {})

detector = DoomLoopDetector()


def test_canonical_call_ignores_key_order() -> None:
    assert canonical_call("grep", {"b": 1, "a": [1, {"y": 2, "x": 1}]}) == canonical_call(
        "grep", {"a": [1, {"x": 1, "y": 2}], "b": 1}
    )
    assert canonical_call("read", {"path": "é"}) == ("read", '{"path":"é"}')


def test_the_same_call_three_times_in_a_row_is_a_repeat() -> None:
    assert detector.check([READ_A, READ_A]) is None
    loop = detector.check([GREP, READ_A, READ_A, READ_A])
    assert loop is not None
    assert (loop.kind, loop.tool, loop.length, loop.repeats) == ("repeat", "read", 1, 3)
    assert loop.calls == (READ_A,)
    assert loop.message == (
        "The same call to read with the same arguments was made 3 times in a row"
    )


def test_different_arguments_are_not_a_loop() -> None:
    assert detector.check([READ_A, READ_B, READ_A]) is None
    assert detector.check([READ_A, READ_A, READ_B]) is None
    calls = [canonical_call("read", {"path": f"{n}.py"}) for n in range(12)]
    assert detector.check(calls) is None


def test_a_repeated_cycle_of_two_is_found() -> None:
    assert detector.check([READ_A, GREP, READ_A, GREP, READ_A]) is None
    loop = detector.check([READ_A, GREP, READ_A, GREP, READ_A, GREP])
    assert loop is not None
    assert (loop.kind, loop.tool, loop.length, loop.calls) == ("cycle", "grep", 2, (READ_A, GREP))
    assert loop.message == "The calls read, grep repeat as a cycle 3 times with the same arguments"


def test_cycles_up_to_max_cycle_are_found_and_longer_ones_are_not() -> None:
    four = [READ_A, READ_B, GREP, LS]
    loop = detector.check(four * 3)
    assert loop is not None
    assert loop.length == 4
    five = [*four, canonical_call("bash", {"command": "make"})]
    assert detector.check(five * 3) is None
    assert DoomLoopDetector(max_cycle=5).check(five * 3) is not None


def test_the_shortest_cycle_is_reported() -> None:
    loop = detector.check([READ_A, GREP] * 6)
    assert loop is not None
    assert loop.length == 2
    assert loop.calls == (READ_A, GREP)


def test_only_the_end_counts_and_any_sequence_type_works() -> None:
    history = [LS] * 5 + [READ_A, GREP]  # an old loop, broken since
    assert detector.check(history) is None
    assert detector.check(deque([READ_B] * 3)) is not None
    assert detector.check([]) is None


def test_threshold_is_configurable_and_validated() -> None:
    strict = DoomLoopDetector(threshold=2)
    loop = strict.check([READ_A, READ_A])
    assert loop is not None
    assert "2 times" in loop.message
    with pytest.raises(ValueError, match="threshold"):
        DoomLoopDetector(threshold=1)
    with pytest.raises(ValueError, match="max_cycle"):
        DoomLoopDetector(max_cycle=0)


# --- properties ------------------------------------------------------------------

# A small alphabet, so that sequences often contain repeats and cycles.
calls_strategy = st.lists(
    st.tuples(st.sampled_from(["read", "grep"]), st.sampled_from(['{"p":1}', '{"p":2}'])),
    max_size=30,
)


def reference_period(calls: list[Call], threshold: int, max_cycle: int) -> int | None:
    """The shortest L such that the last L*threshold calls are one L-call block repeated."""
    for length in range(1, max_cycle + 1):
        span = length * threshold
        if span <= len(calls) and all(
            calls[-1 - i] == calls[-1 - i - length] for i in range(span - length)
        ):
            return length
    return None


@given(calls_strategy, st.integers(2, 4), st.integers(1, 5))
def test_detection_matches_the_definition(calls: list[Call], threshold: int, cycle: int) -> None:
    loop = DoomLoopDetector(threshold=threshold, max_cycle=cycle).check(calls)
    expected = reference_period(calls, threshold, cycle)
    if expected is None:
        assert loop is None
    else:
        assert loop is not None
        assert loop.length == expected
        assert loop.kind == ("repeat" if expected == 1 else "cycle")
        assert list(loop.calls) * threshold == calls[-expected * threshold :]
        assert loop.tool == calls[-1][0]


@given(calls_strategy, calls_strategy)
def test_older_history_never_changes_the_verdict(older: list[Call], recent: list[Call]) -> None:
    """Only the last threshold*max_cycle calls matter; a loop in them is found whatever came
    before, and a clean tail stays clean."""
    tail = (older + recent)[-12:]
    assert detector.check(older + recent) == detector.check(tail)


ALPHABET = [READ_A, READ_B, GREP]


@given(st.lists(st.sampled_from(ALPHABET), max_size=30))
def test_no_two_equal_windows_at_the_end_means_no_loop(calls: list[Call]) -> None:
    """A loop needs at least two equal back-to-back windows ending at the current call."""
    assume(all(calls[-2 * n : -n] != calls[-n:] for n in range(1, 5) if 2 * n <= len(calls)))
    assert detector.check(calls) is None


def square_free_word(length: int) -> list[int]:
    """A ternary word with no square (no ``xx`` factor) at all: the number of 1s between
    consecutive 0s of the Thue-Morse sequence."""
    thue_morse = [bin(n).count("1") % 2 for n in range(4 * length + 8)]
    zeros = [i for i, bit in enumerate(thue_morse) if bit == 0]
    return [b - a - 1 for a, b in pairwise(zeros)][:length]


def test_no_prefix_of_a_square_free_session_is_flagged() -> None:
    word = square_free_word(300)
    assert len(word) == 300
    calls = [ALPHABET[letter] for letter in word]
    assert all(detector.check(calls[:end]) is None for end in range(len(calls) + 1))
    assert detector.check([*calls, calls[-1], calls[-1]]) is not None  # then a repeat
