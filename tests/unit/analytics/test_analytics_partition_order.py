"""The worker's account of partition order: records are processed exactly in offset order from
the seek, and the committable offset never passes a record that was not processed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.partition_order import Admission, PartitionOrder

P = "facts-0"


def test_after_a_seek_only_the_sought_record_and_then_its_successors_are_admitted() -> None:
    order = PartitionOrder()
    assert order.admit(P, 0, generation=1) is Admission.UNSOUGHT  # nothing sought yet
    order.start(1, {P: 10})
    assert order.committable(P) == 10
    assert order.admit(P, 9, generation=1) is Admission.AGAIN
    assert order.admit(P, 11, generation=1) is Admission.GAP  # offset 10 never came
    assert order.admit(P, 10, generation=0) is Admission.UNSOUGHT  # fetched in an older generation
    assert order.admit(P, 10, generation=1) is Admission.NEXT
    assert order.committable(P) == 10  # admitted is not done
    assert order.complete(P, 10)
    assert order.committable(P) == 11
    assert order.admit(P, 10, generation=1) is Admission.AGAIN
    assert not order.complete(P, 10)  # a skipped copy completes nothing


def test_a_rebalance_closes_admission_until_the_next_seek_but_lets_the_record_in_hand_finish() -> None:
    order = PartitionOrder()
    order.start(1, {P: 0})
    assert order.admit(P, 0, generation=1) is Admission.NEXT
    assert order.next_offsets() == {P: 1}  # where to fetch from again when the flow resumes
    order.close()
    assert order.next_offsets() == {}
    assert order.admit(P, 1, generation=1) is Admission.UNSOUGHT
    assert order.complete(P, 0)
    assert order.committable(P) == 1
    order.start(2, {"facts-1": 40})  # the partition moved to another worker
    assert order.committable(P) is None
    assert order.admit(P, 1, generation=2) is Admission.UNSOUGHT


def test_a_partition_kept_through_a_rebalance_goes_on_from_where_it_was_done() -> None:
    order = PartitionOrder()
    order.start(1, {P: 0})
    for offset in range(5):
        assert order.admit(P, offset, generation=1) is Admission.NEXT
        assert order.complete(P, offset)
    order.close()
    order.start(2, {P: 3})  # the last commit was at 3; offsets 3 and 4 were processed here already
    assert order.admit(P, 3, generation=2) is Admission.AGAIN
    assert order.admit(P, 5, generation=2) is Admission.NEXT
    order.start(3, {})  # the partition went to another worker
    order.start(4, {P: 2})  # and came back: only the commit counts now
    assert order.admit(P, 2, generation=4) is Admission.NEXT


def test_in_a_compacted_topic_a_hole_is_accepted_once_a_refetch_confirms_it() -> None:
    now = [0.0]
    order = PartitionOrder(refetch_interval=1.0, clock=lambda: now[0])
    order.start(1, {P: 0})
    assert order.admit(P, 6, generation=1, compacted=True) is Admission.GAP  # a stale record, maybe
    assert order.refetch_due(P) == 0
    assert order.admit(P, 4, generation=1, compacted=True) is Admission.GAP  # lower: not confirmed yet
    now[0] = 1.0
    assert order.refetch_due(P) == 0
    assert order.admit(P, 4, generation=1, compacted=True) is Admission.NEXT  # first again: 0-3 are gone
    assert order.complete(P, 4)
    assert order.committable(P) == 5
    assert order.admit(P, 7, generation=1, compacted=True) is Admission.GAP  # the next hole, same batch
    assert order.refetch_due(P) == 5  # asked at once, not a refetch interval later
    assert order.admit(P, 7, generation=1, compacted=True) is Admission.NEXT
    assert order.admit(P, 9, generation=1) is Admission.GAP  # elsewhere a hole is always a gap


def test_a_record_the_agent_abandoned_is_the_partitions_next_again() -> None:
    order = PartitionOrder()
    order.start(1, {P: 0})
    assert order.admit(P, 0, generation=1) is Admission.NEXT
    # the agent crashed on offset 0 and Faust restarted it: offset 1 comes without 0 done
    assert order.admit(P, 1, generation=1) is Admission.GAP
    assert order.refetch_due(P) == 0
    assert order.committable(P) == 0


def test_a_gap_asks_for_the_missing_records_once_an_interval() -> None:
    now = [100.0]
    order = PartitionOrder(refetch_interval=1.0, clock=lambda: now[0])
    order.start(1, {P: 3})
    assert order.admit(P, 7, generation=1) is Admission.GAP
    assert order.refetch_due(P) == 3
    assert order.admit(P, 8, generation=1) is Admission.GAP
    assert order.refetch_due(P) is None  # the stale batch's next record: asked already
    now[0] += 1.0
    assert order.refetch_due(P) == 3  # the refetch itself may have been lost: ask again


def test_records_deleted_by_retention_before_they_were_processed_are_skipped_once() -> None:
    order = PartitionOrder()
    order.start(1, {P: 3})
    assert order.admit(P, 10, generation=1) is Admission.GAP
    assert not order.skip_deleted(P, 2)  # still there: fetch them again instead
    assert order.skip_deleted(P, 10)  # gone for good: 3-9 cannot be processed any more
    assert order.admit(P, 10, generation=1) is Admission.NEXT
    assert not order.skip_deleted(P, 10)


def test_a_partition_idle_with_records_waiting_is_fetched_again() -> None:
    now = [0.0]
    order = PartitionOrder(stall_after=5.0, clock=lambda: now[0])
    order.start(1, {P: 3, "facts-1": 9})
    now[0] = 4.0
    assert list(order.stalled({P: 4, "facts-1": 9})) == []  # not long enough
    now[0] = 5.0
    assert list(order.stalled({P: 4, "facts-1": 9})) == [(P, 3)]  # facts-1 has nothing waiting
    assert list(order.stalled({P: 4})) == []  # once per stall period
    assert order.admit(P, 3, generation=1) is Admission.NEXT
    now[0] = 20.0
    assert list(order.stalled({P: 4})) == []  # a record in hand is progress under way
    order.close()
    assert order.complete(P, 3)
    assert list(order.stalled({P: 9})) == []  # nothing is fetched during a rebalance


generations = st.sampled_from([1, 1, 1, 2])  # mostly the current one
steps = st.lists(
    st.one_of(
        st.tuples(st.just("deliver"), st.integers(0, 6), generations),
        st.tuples(st.just("deliver"), st.integers(0, 6), generations),
        st.tuples(st.just("abandon"), st.integers(0, 6), generations),
        st.tuples(st.just("seek"), st.integers(0, 3), generations),
        st.tuples(st.just("lose"), st.just(0), generations),
        st.tuples(st.just("close"), st.just(0), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=500)
@given(steps)
def test_whatever_order_records_come_in_none_is_processed_past_a_hole_or_committed_past(steps) -> None:  # type: ignore[no-untyped-def]
    # An independent model: a seek to a commit says every record below it was processed (by
    # this worker or another); otherwise a record counts only once the agent finished it.
    order = PartitionOrder()
    committed_below = 0
    processed: set[int] = set()

    def covered(offset: int) -> bool:
        return offset < committed_below or offset in processed

    for action, offset, generation in steps:
        if action == "seek":
            order.start(generation, {P: offset})
            committed_below = max(committed_below, offset)
        elif action == "lose":  # the partition went to another worker, and may come back later
            order.start(generation, {})
            processed, committed_below = set(), 0
        elif action == "close":
            order.close()
        elif order.admit(P, offset, generation) is Admission.NEXT:
            assert all(covered(below) for below in range(offset)), "processed past a hole"
            if action == "deliver":  # "abandon": the agent crashed before finishing it
                assert order.complete(P, offset)
                processed.add(offset)
        done = order.committable(P)
        if done is not None:
            assert all(covered(below) for below in range(done)), "committable past an unprocessed record"
