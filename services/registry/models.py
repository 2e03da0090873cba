"""Every registry table, imported in one place for Alembic and the tests."""

from services.registry.auth.models import RefreshToken, User
from services.registry.clients.models import Client
from services.registry.database import Base, ChangeLogEntry, IdempotencyKey, JobOutbox
from services.registry.dci.models import DciCursor, DciDelivery, DciSubscription, DciTransaction
from services.registry.duplicates.models import DuplicatePair, DuplicateScan
from services.registry.economics.models import HouseholdEconomics
from services.registry.guarantees.models import GuaranteeCheck
from services.registry.households.models import (
    Household,
    HouseholdCategoryChange,
    HouseholdExternalId,
    Member,
)
from services.registry.imports.models import ImportFile, ImportJob, ImportRejection
from services.registry.measures.models import Cadre, CadreHousehold, HelpMeasure
from services.registry.regions.models import Region
from services.registry.webhooks import HUB as _WEBHOOKS

# The webhook tables are made once in shared.webhooks for every service.
WebhookSubscription = _WEBHOOKS.subscription
WebhookDelivery = _WEBHOOKS.delivery
WebhookCursor = _WEBHOOKS.cursor

__all__ = [
    "Base",
    "Cadre",
    "CadreHousehold",
    "ChangeLogEntry",
    "Client",
    "DciCursor",
    "DciDelivery",
    "DciSubscription",
    "DciTransaction",
    "DuplicatePair",
    "DuplicateScan",
    "GuaranteeCheck",
    "HelpMeasure",
    "Household",
    "HouseholdCategoryChange",
    "HouseholdEconomics",
    "HouseholdExternalId",
    "IdempotencyKey",
    "ImportFile",
    "ImportJob",
    "ImportRejection",
    "JobOutbox",
    "Member",
    "RefreshToken",
    "Region",
    "User",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookSubscription",
]
