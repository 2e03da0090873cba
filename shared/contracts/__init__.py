"""Contracts that cross a service boundary, defined once and used by both sides."""
