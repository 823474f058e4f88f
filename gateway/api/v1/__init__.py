"""API v1 read side: call history, recordings, statistics (routers over gateway.store)."""
