"""Control plane <-> worker protocol: messages (protocol), wire format (codec), transport."""
