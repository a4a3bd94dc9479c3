"""6. Pinned images in production stacks: an explicit tag other than `latest`,
or a digest. Checked: the RemoteImage names, container images that are
references (image ids are pinned by nature), and the build's BASE_IMAGE
argument (docs/policy.md, "When is a stack production?").
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .props import CONTAINER, IMAGE, REMOTE_IMAGE, get, is_image_id, is_pinned
from .stack import production

#: The config schema of the policy (policy config files, Pulumi Cloud policy groups).
CONFIG_SCHEMA_PROPERTIES: dict[str, dict[str, Any]] = {
    "production": {
        "type": "boolean",
        "default": False,
        "description": "Treat the stack as production (in addition to the stack config library:production).",
    },
}


def _references(args: ResourceValidationArgs) -> list[tuple[str, Any]]:
    """(where, reference) pairs of the resource; values may be unknown (skipped)."""
    if args.resource_type == REMOTE_IMAGE:
        return [("name", get(args.props, "name"))]
    if args.resource_type == CONTAINER:
        return [("image", get(args.props, "image"))]
    if args.resource_type == IMAGE:
        build_args = get(get(args.props, "build"), "args")
        return [("build.args.BASE_IMAGE", get(build_args, "BASE_IMAGE"))]
    return []


def validate_pinned_images(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    refs = [(where, ref) for where, ref in _references(args) if isinstance(ref, str) and ref.strip()]
    if not refs:
        return
    is_production, why = production(args.get_config())
    if not is_production:
        return
    for where, ref in refs:
        if is_image_id(ref) or is_pinned(ref):
            continue
        report_violation(
            f"{args.resource_type.split(':')[-1]} {args.name!r}: {where}={ref!r} is not pinned "
            f"(production stack: {why}). Use an explicit tag other than 'latest' "
            "(e.g. postgres:15.7-bookworm) or a digest (name@sha256:...).",
            None,
        )
