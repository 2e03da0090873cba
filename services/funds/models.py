"""Every funds table, imported in one place for Alembic and the tests."""

from services.funds.database import AuditLog, Base, IdempotencyKey

__all__ = ["AuditLog", "Base", "IdempotencyKey"]
