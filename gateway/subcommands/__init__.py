"""Sub-commands of the contactgw CLI (see gateway.cli)."""
