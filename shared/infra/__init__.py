"""Infrastructure: MongoDB access, broker topology, outbox, inbox, publisher, runtime, settings, logs, metrics."""
