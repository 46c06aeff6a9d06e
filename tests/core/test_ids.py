import threading

from opencode_python.core.ids import id_kind, id_timestamp_ms, new_id
from opencode_python.core.models import now_ms


def test_ids_sort_in_creation_order_within_one_millisecond() -> None:
    ids = [new_id("part") for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_id_prefix_names_the_kind_and_encodes_the_time() -> None:
    before = now_ms()
    value = new_id("session")
    assert value.startswith("ses_")
    assert id_kind(value) == "session"
    assert id_kind(new_id("message")) == "message"
    assert id_kind("ses_short") is None
    assert before <= id_timestamp_ms(value) <= now_ms()


def test_ids_from_many_threads_are_unique() -> None:
    found: list[str] = []

    def make() -> None:
        found.extend(new_id("part") for _ in range(2_000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 8_000
