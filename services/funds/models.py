"""Every funds table, imported in one place for Alembic and the tests."""

from services.funds.assets.models import Asset, AssetIncome, Distribution, DistributionShare
from services.funds.compliance.models import ComplianceScan, Finding
from services.funds.database import Base, ChangeLogEntry, IdempotencyKey, JobOutbox
from services.funds.funding.models import Allocation, Fund
from services.funds.notices.models import Notice
from services.funds.payments.models import Payment, PaymentConfirmation
from services.funds.policy.models import FundsPolicy
from services.funds.projects.models import Project, ProjectBeneficiary, ProjectEvent, ProjectFund
from services.funds.webhooks import HUB as _WEBHOOKS

# The webhook tables are made once in shared.webhooks for every service.
WebhookSubscription = _WEBHOOKS.subscription
WebhookDelivery = _WEBHOOKS.delivery
WebhookCursor = _WEBHOOKS.cursor

__all__ = [
    "Allocation",
    "Asset",
    "AssetIncome",
    "Base",
    "ChangeLogEntry",
    "ComplianceScan",
    "Distribution",
    "DistributionShare",
    "Finding",
    "Fund",
    "FundsPolicy",
    "IdempotencyKey",
    "JobOutbox",
    "Notice",
    "Payment",
    "PaymentConfirmation",
    "Project",
    "ProjectBeneficiary",
    "ProjectEvent",
    "ProjectFund",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookSubscription",
]
