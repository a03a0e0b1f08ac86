"""The roles a Park OS caller can hold."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who is calling: the park's staff, a tenant, a bank or a compute node's agent."""

    ADMIN = "admin"
    TENANT = "tenant"  # bound to one tenant id
    BANK = "bank"  # bound to one bank id
    AGENT = "agent"  # bound to one compute node id
