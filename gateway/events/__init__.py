"""Call events for the ticketing side: catalogue, CloudEvents envelope, outbox publisher, broker."""
