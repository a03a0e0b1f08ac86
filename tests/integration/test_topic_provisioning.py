"""Services create their topics at start with the catalog's partitions and configs."""
from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from parkos.events.provisioning import ensure_topics
from parkos.events.topics import TopicSpec

pytestmark = pytest.mark.infra


async def describe(bootstrap: str, topic: str) -> tuple[int, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
        return len(description["partitions"]), configs
    finally:
        await admin.close()


async def test_a_topic_is_created_once_with_its_partitions_and_configs(infra):
    spec = TopicSpec(infra.unique_name("test.compacted"), 4, {"cleanup.policy": "compact"})
    assert await ensure_topics(infra.kafka_bootstrap, [spec]) == [spec.name]
    assert await ensure_topics(infra.kafka_bootstrap, [spec]) == [], "a second start creates nothing"
    partitions, configs = await describe(infra.kafka_bootstrap, spec.name)
    assert partitions == 4
    assert configs["cleanup.policy"] == "compact"
