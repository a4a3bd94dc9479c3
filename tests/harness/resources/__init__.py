"""One module per resource type the live harness realizes, each with the input keys it
handles and the provider rules it follows (see docs/testing.md, the live tier)."""
