"""Checks of request messages that come before any domain rule.

Unknown fields (a client built against another version of the API, or a hand-made
request) are refused rather than silently dropped, ids must have the right form, and an
UpdateProfile request may only touch the editable profile.
"""

from __future__ import annotations

from park.tenants.v1 import tenants_pb2
from parkos.errors import FieldViolation, InvalidArgument
from parkos.unknown_fields import refuse_unknown_fields  # noqa: F401  (re-exported for api.py)
from parkos.ids import is_valid_id
from parkos.wording import with_article

from services.tenants.domain import EDITABLE_PROFILE_FIELDS

TENANT_ID_PREFIX = "ten"
CREDENTIAL_ID_PREFIX = "crd"
REPORT_ID_PREFIX = "rev"
NAME_PREFIX_MAX = 150
# Fields of Tenant that UpdateProfile identifies the tenant by, or may change.
_PROFILE_REQUEST_FIELDS = frozenset({"tenant_id", *EDITABLE_PROFILE_FIELDS})




def tenant_id(value: str, field: str = "tenant_id") -> str:
    """A well-formed tenant id, or INVALID_ARGUMENT naming ``field``."""
    return _id(value, TENANT_ID_PREFIX, field)


def credential_id(value: str, field: str = "credential_id") -> str:
    """A well-formed credential id, or INVALID_ARGUMENT naming ``field``."""
    return _id(value, CREDENTIAL_ID_PREFIX, field)


def name_prefix(value: str) -> str:
    """A name prefix for search, trimmed; INVALID_ARGUMENT when it is too long."""
    if len(value) > NAME_PREFIX_MAX:
        raise InvalidArgument.for_field("name_prefix", f"must be at most {NAME_PREFIX_MAX} characters")
    return value.strip()


def profile_paths(request: tenants_pb2.UpdateProfileRequest) -> tuple[str, ...]:
    """The profile fields an UpdateProfile request changes, after refusing everything else."""
    violations = [
        FieldViolation(f"tenant.{field.name}", _not_editable(field.name))
        for field, _ in request.tenant.ListFields()
        if field.name not in _PROFILE_REQUEST_FIELDS
    ]
    paths = list(request.update_mask.paths)
    for index, path in enumerate(paths):
        if path not in EDITABLE_PROFILE_FIELDS:
            violations.append(FieldViolation(f"update_mask.paths[{index}]", _not_editable(path)))
    if violations:
        raise InvalidArgument("UpdateProfile changes only contacts and description", violations)
    if not paths:
        paths = [name for name in EDITABLE_PROFILE_FIELDS if _is_set(request.tenant, name)]
    if not paths:
        raise InvalidArgument.for_field("update_mask", "nothing to update: name contacts and/or description")
    return tuple(dict.fromkeys(paths))


def _not_editable(name: str) -> str:
    if name in tenants_pb2.Tenant.DESCRIPTOR.fields_by_name:
        return f"{name} cannot be changed by UpdateProfile (only {', '.join(EDITABLE_PROFILE_FIELDS)})"
    return "is not a field of the tenant profile"


def _is_set(tenant: tenants_pb2.Tenant, name: str) -> bool:
    value = getattr(tenant, name)
    return bool(len(value)) if name == "contacts" else bool(value)


def _id(value: str, prefix: str, field: str) -> str:
    if not value:
        raise InvalidArgument.for_field(field, "is required")
    if not is_valid_id(value, prefix):
        raise InvalidArgument.for_field(field, f"is not {with_article(prefix + '_')} id")
    return value
