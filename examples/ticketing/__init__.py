"""A ticketing consumer of the gateway's call events (see README.md)."""
