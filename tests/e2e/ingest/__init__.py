"""End-to-end tests against a real `cardtrace serve` subprocess on 127.0.0.1."""
