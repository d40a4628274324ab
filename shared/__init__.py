"""regwatch's own shared package: settings, clock, events, broker topology, MongoDB access."""
