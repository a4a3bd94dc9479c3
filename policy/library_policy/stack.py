"""What the policies know about the stack being deployed.

The policy SDK's arguments carry no stack configuration (ResourceValidationArgs
has type, props, urn, name, opts, provider, the policy's own config and the
stack tags). But the Pulumi CLI starts a Python policy pack with the stack's
configuration in the environment (PULUMI_CONFIG, a JSON object of
"namespace:key" -> value, the same way it passes config to a program), and
pulumi_policy copies it into the Pulumi runtime config. So
`library:production` and `library:retainDatabaseVolume` are readable with
the SDK's own config lookup, which also honours PULUMI_CONFIG_<KEY> variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.runtime.config import get_config

from .props import as_bool

#: The program's config namespace (`name:` of Pulumi.yaml).
NAMESPACE = "library"


def stack_config(key: str) -> Any | None:
    """The stack's `library:<key>` value (usually a string), or None when unset."""
    return get_config(f"{NAMESPACE}:{key}")


def production(policy_config: Mapping[str, Any]) -> tuple[bool, str]:
    """(is this a production stack, why) for the pinned-images policy.

    Production when EITHER source says so (neither can switch the other off):
    - the policy's config `production: true` (a policy config file,
      `pulumi preview --policy-pack policy --policy-pack-config policy/production.json`,
      or a Pulumi Cloud policy group), or
    - the stack config `library:production` is true (what the program itself
      uses to refuse unpinned images). A value that is neither true nor false
      counts as production: fail closed.
    """
    reasons = []
    if as_bool(policy_config.get("production")) is True:
        reasons.append("policy config production=true")
    raw = stack_config("production")
    if raw is not None and as_bool(raw) is not False:
        reasons.append(f"stack config {NAMESPACE}:production={raw!r}")
    return bool(reasons), " and ".join(reasons)
