"""Every monitoring table, imported in one place for Alembic and the tests."""

from services.monitoring.database import AuditLog, Base, IdempotencyKey

__all__ = ["AuditLog", "Base", "IdempotencyKey"]
