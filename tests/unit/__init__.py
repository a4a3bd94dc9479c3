"""Unit tests of the Pulumi program (infra/), under Pulumi mocks."""
