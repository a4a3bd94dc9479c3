"""7. The database volume is kept when the stack is destroyed or the volume replaced.

The program decides this with the resource option `retain_on_delete`
(infra/database.py: `retain_on_delete=settings.retain_database_volume`,
config `library:retainDatabaseVolume`, default true).

A policy cannot see that option: the analyzer protocol's resource options
(pulumi_policy.PolicyResourceOptions, from AnalyzerResourceOptions) carry
protect, ignore_changes, delete_before_replace, aliases, custom_timeouts,
additional_secret_outputs and parent, but not retain_on_delete; stack
policies get the same options. So the policy accepts the volume labelled
org.library.component=volume when any of these holds:

1. `protect` is set on it (stronger: it cannot be deleted at all);
2. it carries the label org.library.retain=true (for a program that mirrors
   the option into a label; this one does not, see docs/policy.md);
3. the stack config `library:retainDatabaseVolume` is not false, i.e. true or
   unset (the program's default is true). This is the exact value the
   program passes to retain_on_delete, read from the stack config the CLI
   hands to the policy pack (see stack.py); tests/policy checks on the real
   program that the two agree.

Throwaway stacks that really want the volume deleted set
retainDatabaseVolume=false and lower this policy's enforcement level in a
policy config file (docs/policy.md).
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
