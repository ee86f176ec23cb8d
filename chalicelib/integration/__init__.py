"""Moving messages out of the platform: the outbox relay and (later) partner webhooks."""
