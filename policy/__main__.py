"""Entry point of the policy pack: `pulumi preview --policy-pack policy`.

The policies themselves live in library_policy/ (plain functions, unit-tested
in tests/policy/); this file only registers them. docs/policy.md explains each.
"""

from library_policy import policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="library-docker",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(),
)
