"""Whether the store scans a whole collection for the reads a piece of code sends: record its
find commands, ask the store to explain them.

A read served by scanning a collection costs time in proportion to the collection, on every
call: at the park's size, tens of milliseconds of store time per call on SecantusDB's Python
server (a top-level ``$or`` over 1,000 tenants: ~50 ms). That server explains a multi-field
filter as a scan unless its fields lead an index, but executes it through the index of any
one of its fields and checks the rest on the documents found (measured: 1 ms where it
explains 3,000 documents examined). So a filter counts as a scan here only when neither it
nor any one of its fields alone is planned through an index; a filter with a top-level
``$or`` or ``$and`` beside its fields is scanned whatever they are (the server gives up on
indexes for it: 171 ms over 3,000 orders with an indexed field beside the ``$or``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import monitoring

# what explain needs of a recorded find; the rest (session, transaction, read concern) is the call's
_FIND_FIELDS = ("filter", "sort", "projection", "limit", "skip", "hint")


@dataclass(frozen=True)
class RecordedFind:
    database: str
    collection: str
    command: dict[str, Any]


@dataclass
class FindRecorder(monitoring.CommandListener):
    """Keeps every find command a client sends (pass it in ``event_listeners``)."""

    finds: list[RecordedFind] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            command = {"find": event.command["find"],
                       **{name: event.command[name] for name in _FIND_FIELDS if name in event.command}}
            self.finds.append(RecordedFind(event.database_name, event.command["find"], command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def take(self) -> list[RecordedFind]:
        """The finds recorded since the last take."""
        taken, self.finds = self.finds, []
        return taken


def plan_stages(plan: Any) -> list[str]:
    """Every stage name in an explain document, at any depth (input stages, $or branches)."""
    if isinstance(plan, dict):
        own = [plan["stage"]] if isinstance(plan.get("stage"), str) else []
        return own + [stage for value in plan.values() for stage in plan_stages(value)]
    if isinstance(plan, list):
        return [stage for item in plan for stage in plan_stages(item)]
    return []


async def winning_stages(client: Any, database: str, command: dict[str, Any]) -> list[str]:
    """The stages of the plan the store picks for a find command."""
    explained = await client[database].command({"explain": command, "verbosity": "queryPlanner"})
    planner = explained.get("queryPlanner", explained)
    return plan_stages(planner.get("winningPlan", planner))


async def scans_collection(client: Any, find: RecordedFind) -> bool:
    """Whether the store reads every document of the collection for ``find``."""
    if "COLLSCAN" not in await winning_stages(client, find.database, find.command):
        return False
    where = find.command.get("filter") or {}
    if any(name.startswith("$") for name in where):
        return True  # a top-level $or or $and makes the server give up on every index
    for name, clause in where.items():
        alone = {"find": find.collection, "filter": {name: clause}}
        if "COLLSCAN" not in await winning_stages(client, find.database, alone):
            return False
    return True


async def collection_scans(client: Any, finds: list[RecordedFind]) -> list[str]:
    """The recorded finds the store would serve by scanning a whole collection, described."""
    return [f"{find.collection}: {find.command.get('filter')}" for find in finds if await scans_collection(client, find)]
