"""The change feed speaks the shared contract (``shared.contracts.registry``)."""

from shared.contracts.registry import ChangeEventRead, ChangePage

__all__ = ["ChangeEventRead", "ChangePage"]
