"""The test harness that runs this project's Pulumi program: under fake mocks for the
unit tier (fake.py), and realized on a real Docker engine for the live tier (live.py,
realizer.py, engine.py, resources/). It is a test harness, never a deployment tool: no
previews, no refresh, no registry.

Between deployments of one run id it keeps a per-run state file (state.py: the engine's
model of each resource - id, inputs, outputs, init errors, options - and pending deletes);
the Docker objects also carry the run and URN labels teardown finds them by. The rules
it follows, each with its source: docs/testing.md, the live tier.
"""
