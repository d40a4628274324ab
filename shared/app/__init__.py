"""Application layer: the use cases that the CLI, the HTTP APIs and the consumers call."""
