"""The test harness that runs this project's Pulumi program: under fake mocks for the
unit tier (fake.py), and realized on a real Docker engine for the live tier (live.py,
realizer.py, resources/). It is a test harness, never a deployment tool: no previews,
no diffs, no providers.

Between deployments of one run id it keeps a per-run state file (state.py: random
values, and each container's id and inputs fingerprint); the Docker objects themselves
are found by the run and URN labels they carry. The story: docs/testing.md.
"""
