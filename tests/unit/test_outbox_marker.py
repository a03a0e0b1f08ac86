"""The outbox marker: a stored position never vouches for a row that is not yet marked sent."""
from __future__ import annotations

import asyncio

from parkos.outbox.changes import Committed
from parkos.outbox.marker import MARK_CHUNK, SentMarker


class FakeOutbox:
    """Records `update_many` calls; can be told to fail the next one."""

    def __init__(self, log: list) -> None:
        self.log = log
        self.fail_next = False

    async def update_many(self, query: dict, update: dict) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("store unreachable")
        assert update["$set"]["sent"] is True and "sent_at" in update["$set"]
        self.log.append(("mark", list(query["_id"]["$in"])))


class FakePosition:
    def __init__(self, log: list) -> None:
        self.log = log

    async def save(self, token: dict) -> None:
        self.log.append(("save", token["n"]))


def row(number: int, *, token: bool = True) -> Committed:
    return Committed({"_id": f"evt-{number:04d}"}, {"n": number} if token else None)


def tick(number: int) -> Committed:
    return Committed(None, {"n": number})


def marked_before_each_save(log: list) -> None:
    """Every saved position n comes after the marks of all rows numbered <= n."""
    marked: set[str] = set()
    for kind, value in log:
        if kind == "mark":
            marked.update(value)
        else:
            expected = {entry for entry in _all_ids(log) if int(entry.split("-")[1]) <= value}
            assert expected <= marked, f"position {value} saved before its rows were marked"


def _all_ids(log: list) -> set[str]:
    return {entry for kind, value in log if kind == "mark" for entry in value}


async def test_flush_marks_in_order_in_chunks_then_saves_the_last_position():
    log: list = []
    marker = SentMarker(FakeOutbox(log), FakePosition(log))
    marker.acknowledged([row(number) for number in range(60)] + [tick(60)])
    assert marker.unmarked == 60
    await marker.flush()
    marks = [value for kind, value in log if kind == "mark"]
    assert [len(chunk) for chunk in marks] == [MARK_CHUNK, MARK_CHUNK, 60 - 2 * MARK_CHUNK]
    assert [entry for chunk in marks for entry in chunk] == [f"evt-{number:04d}" for number in range(60)]
    assert log[-1] == ("save", 60)
    assert marker.unmarked == 0
    marked_before_each_save(log)


async def test_rows_found_by_a_scan_are_marked_before_any_later_position_is_saved():
    log: list = []
    marker = SentMarker(FakeOutbox(log), FakePosition(log))
    scanned = [row(number, token=False) for number in range(30)]
    marker.acknowledged(scanned + [row(30), row(31)])
    await marker.flush()
    assert [kind for kind, _ in log].count("save") == 1
    assert log[-1] == ("save", 31)
    marked_before_each_save(log)


async def test_nothing_is_saved_while_only_scanned_rows_were_marked():
    log: list = []
    marker = SentMarker(FakeOutbox(log), FakePosition(log))
    marker.acknowledged([row(number, token=False) for number in range(5)])
    await marker.flush()
    assert [kind for kind, _ in log] == ["mark"]


async def test_a_failed_mark_keeps_the_rows_and_the_position_back():
    log: list = []
    outbox = FakeOutbox(log)
    marker = SentMarker(outbox, FakePosition(log))
    marker.acknowledged([row(number) for number in range(10)])
    outbox.fail_next = True
    try:
        await marker.flush()
    except ConnectionError:
        pass
    assert log == [] and marker.unmarked == 10
    await marker.flush()
    assert log == [("mark", [f"evt-{number:04d}" for number in range(10)]), ("save", 9)]


async def test_the_running_marker_waits_for_permission_then_saves_a_first_position_at_once():
    log: list = []
    marker = SentMarker(FakeOutbox(log), FakePosition(log), save_every=0.05)
    allowed = asyncio.Event()

    async def may_mark() -> None:
        await allowed.wait()

    task = asyncio.create_task(marker.run(may_mark))
    try:
        marker.acknowledged([row(0), row(1)])
        await asyncio.sleep(0.1)
        assert log == [], "marked while publishing had a backlog"
        allowed.set()
        for _ in range(100):
            if ("save", 1) in log:
                break
            await asyncio.sleep(0.01)
        assert log == [("mark", ["evt-0000", "evt-0001"]), ("save", 1)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_small_batches_share_a_statement_and_the_position_moves_only_past_whole_batches():
    log: list = []
    marker = SentMarker(FakeOutbox(log), FakePosition(log))
    marker.acknowledged([row(0), row(1)])
    marker.acknowledged([row(number) for number in range(2, 30)])
    await marker._mark_chunk()
    assert [len(value) for kind, value in log] == [MARK_CHUNK]
    assert marker._token == {"n": 1}, "the position moved into a batch not yet fully marked"
    await marker.flush()
    assert log[-1] == ("save", 29)
    marked_before_each_save(log)
