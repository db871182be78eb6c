"""Duet: an offline, hands-free voice companion for couples who create together."""

__version__ = "0.1.0"
