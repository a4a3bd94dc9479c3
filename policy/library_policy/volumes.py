"""7. The database volume is kept when the stack is destroyed or the volume replaced.

Policies cannot see `retain_on_delete`, so the volume passes when it is
protected, labelled org.library.retain=true, or the stack's
`library:retainDatabaseVolume` (what the program passes to the option) is not
false (docs/policy.md, "How the volume's retention is checked").
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .props import RETAIN_LABEL, VOLUME, as_bool, component, labels
from .stack import NAMESPACE, stack_config

DATABASE_VOLUME_COMPONENT = "volume"


def validate_database_volume_retained(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != VOLUME or component(args.props) != DATABASE_VOLUME_COMPONENT:
        return
    if args.opts is not None and getattr(args.opts, "protect", False):
        return
    if as_bool(labels(args.props).get(RETAIN_LABEL)) is True:
        return
    raw = stack_config("retainDatabaseVolume")
    if raw is None or as_bool(raw) is True:
        return
    report_violation(
        f"database volume {args.name!r} would be deleted with the stack: stack config "
        f"{NAMESPACE}:retainDatabaseVolume={raw!r}. Set it to true (the program then sets "
        "retain_on_delete on the volume), or protect the volume.",
        None,
    )
