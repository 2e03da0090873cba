"""What a case does to the registry (the household's category on deciding and eliminating,
the measures it records), and how a refusal there reads to the cadre."""

import httpx

from services.monitoring.cases.models import MonitoringCase
from shared.contracts.registry import CategoryChange, HouseholdCategory
from shared.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from shared.i18n import t
from shared.registry_client import RegistryClient


def refusal(response: httpx.Response, what: str) -> AppError:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if response.status_code == 404:
        return NotFound(
            t(
                "{action}: the registry does not know this household ({detail})",
                "registry.household_not_found",
                action=what,
                detail=detail,
            )
        )
    if response.status_code == 403:
        return Forbidden(
            t(
                "{action}: the registry refused ({detail})",
                "registry.forbidden",
                action=what,
                detail=detail,
            )
        )
    if response.status_code == 422:
        return ValidationFailed(
            t(
                "{action}: the registry refused ({detail})",
                "registry.invalid",
                action=what,
                detail=detail,
            )
        )
    return Conflict(
        t(
            "{action}: the registry answered {status} ({detail})",
            "registry.refused",
            action=what,
            status=response.status_code,
            detail=detail,
        )
    )


async def set_category(
    registry: RegistryClient, case: MonitoringCase, category: str, reason: str, token: str | None
) -> None:
    if case.household_id is None:
        raise Conflict(
            t(
                "the household must be registered before the county decides",
                "case.household_unregistered",
            )
        )
    response = await registry.set_category(
        case.household_id,
        CategoryChange(category=HouseholdCategory(category), reason=reason, case_id=case.id),
        token=token,
    )
    if response.status_code >= 300:
        raise refusal(response, t("setting the household category"))
