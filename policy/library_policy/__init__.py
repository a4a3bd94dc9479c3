"""The library service's policies for Docker resources (docs/policy.md).

`VALIDATORS` maps each policy name to its plain validator function
`(ResourceValidationArgs, report_violation) -> None`; `policies()` wraps them
as mandatory ResourceValidationPolicy objects for the PolicyPack.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .containers import (
    validate_api_capabilities,
    validate_api_healthcheck,
    validate_api_read_only_root,
    validate_no_database_host_port,
    validate_no_host_network,
    validate_not_privileged,
)
from .images import CONFIG_SCHEMA_PROPERTIES, validate_pinned_images
from .volumes import validate_database_volume_retained

Validator = Callable[[ResourceValidationArgs, ReportViolation], None]

#: name -> (description, validator)
POLICIES: dict[str, tuple[str, Validator]] = {
    "no-privileged-containers": (
        "Containers must not run privileged.",
        validate_not_privileged,
    ),
    "no-host-network": (
        "Containers must not use the host's network (networkMode=host).",
        validate_no_host_network,
    ),
    "no-database-host-port": (
        "The database container (label org.library.component=db, or a PostgreSQL image) must not publish host ports.",
        validate_no_database_host_port,
    ),
    "api-healthcheck-required": (
        "API containers (label org.library.component=api) must have a healthcheck.",
        validate_api_healthcheck,
    ),
    "api-read-only-root-fs": (
        "API containers must run with a read-only root file system.",
        validate_api_read_only_root,
    ),
    "api-no-added-capabilities": (
        "API containers must not add Linux capabilities and must drop ALL.",
        validate_api_capabilities,
    ),
    "pinned-images-in-production": (
        "Production stacks must use pinned images (a tag other than latest, or a digest).",
        validate_pinned_images,
    ),
    "database-volume-retained": (
        "The database volume (label org.library.component=volume) must be kept when the stack is destroyed.",
        validate_database_volume_retained,
    ),
}

VALIDATORS: dict[str, Validator] = {name: validator for name, (_, validator) in POLICIES.items()}

_CONFIG_SCHEMAS = {
    "pinned-images-in-production": PolicyConfigSchema(properties=CONFIG_SCHEMA_PROPERTIES),
}


def policies() -> list[ResourceValidationPolicy]:
    """The pack's policies, all mandatory."""
    return [
        ResourceValidationPolicy(
            name=name,
            description=description,
            validate=validator,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=_CONFIG_SCHEMAS.get(name),
        )
        for name, (description, validator) in POLICIES.items()
    ]
