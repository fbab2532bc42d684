"""Service-level tests of the write path on a real event store in a temporary data directory."""
