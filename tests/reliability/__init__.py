"""Reliability suite: crash consistency, concurrency, hostile input, network faults, secrets, fuzz."""
