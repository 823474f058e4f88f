"""HTTP API of the control plane: health, metrics, agents, queues, calls (FastAPI)."""
