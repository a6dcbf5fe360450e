"""Loopback fakes of the remote services (HTTP boundary only)."""
