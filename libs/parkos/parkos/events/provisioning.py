"""Creates the topics a service needs at start, with explicit partitions and configs."""
from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from parkos.events.topics import TopicSpec
from parkos.logging import get_logger

log = get_logger(__name__)


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec]) -> list[str]:
    """Create every missing topic; existing ones are left as they are. Returns the names created."""
    wanted = {spec.name: spec for spec in specs}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="parkos-provisioning")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for name, spec in wanted.items() if name not in existing]
        if missing:
            await _create(admin, missing)
            log.info("topics created", topics=[spec.name for spec in missing])
        return [spec.name for spec in missing]
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    new_topics = [
        NewTopic(
            name=spec.name,
            num_partitions=spec.partitions,
            replication_factor=spec.replication_factor,
            topic_configs=spec.config,
        )
        for spec in specs
    ]
    response = await admin.create_topics(new_topics, timeout_ms=30000)
    for topic_error in response.topic_errors:
        name, code = topic_error[0], topic_error[1]
        error = for_code(code)
        # another replica may create a topic between our list and create: that is the goal
        if code != 0 and error is not TopicAlreadyExistsError:
            raise error(f"cannot create topic {name}")
