"""The monitoring and funds services' client for the registry API (the only way they read
or write registry data). Transient failures raise ``RegistryUnavailable`` so jobs can retry."""

import time
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from shared import request_context
from shared.auth import Principal, Role, issue_token
from shared.contracts.registry import (
    CategoryChange,
    ChangePage,
    HouseholdRef,
    HouseholdStats,
    MeasureCreate,
    MeasureRead,
)
from shared.errors import NotFound, ServiceUnavailable
from shared.i18n import t
from shared.pagination import decode_cursor
from shared.settings import Settings


class RegistryUnavailable(ServiceUnavailable):
    """The registry did not answer (down, timeout, 5xx): try again later."""


def feed_order(cursor: str | None) -> int:
    """A change-feed cursor's place in the feed, for comparing two of them: its position (a
    number, compared as one). An (xid, seq) cursor from before the feed was numbered in
    commit order is behind every position: the next page read translates it."""
    if not cursor or cursor == "0":
        return 0
    values = decode_cursor(cursor)
    return int(values[0]) if len(values) == 1 else -1


class RegistryClient:
    """Calls the registry as Povguard's service account, or as the user whose token is given
    (so the registry scopes and audits the action as that user)."""

    def __init__(
        self, http: httpx.AsyncClient, settings: Settings, base_url: str | None = None
    ) -> None:
        self.http, self.settings = http, settings
        self.base_url = (base_url or settings.registry_url).rstrip("/")
        self._token: tuple[str, float] | None = None

    def _service_token(self) -> str:
        # Every service holds the shared signing key, so it mints its own short-lived token.
        if self._token is None or self._token[1] < time.monotonic() + 60:
            principal = Principal(
                sub=self.settings.service_username,
                role=Role.service,
                region_code=self.settings.province_code,
            )
            self._token = (
                issue_token(self.settings, principal, minutes=10),
                time.monotonic() + 600,
            )
        return self._token[0]

    async def _request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token or self._service_token()}",
            **request_context.outgoing_headers(),  # one request id across the services
            **kwargs.pop("headers", {}),
        }
        try:
            response = await self.http.request(
                method, f"{self.base_url}/v1{path}", headers=headers, **kwargs
            )
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(
                t("registry unreachable: {error}", "registry.unreachable", error=type(exc).__name__)
            ) from exc
        if response.status_code >= 500:
            raise RegistryUnavailable(
                t(
                    "registry answered {status}",
                    "registry.unavailable",
                    status=response.status_code,
                )
            )
        return response

    async def changes(self, after: str | None, limit: int = 1000) -> ChangePage:
        params = {"limit": limit} | ({"after": after} if after else {})
        response = await self._request("GET", "/changes", params=params)
        response.raise_for_status()
        return ChangePage.model_validate(response.json())

    async def feed_position(self) -> str:
        """The feed's position now: the cursor after the last change committed so far."""
        response = await self._request("GET", "/changes/position")
        response.raise_for_status()
        return str(response.json()["position"])

    async def region_exists(self, code: str) -> bool:
        """Whether the registry knows this region (as the service account, which sees all)."""
        response = await self._request("GET", f"/regions/{code}")
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    async def region_name(self, code: str) -> str | None:
        """A region's name, or None when the registry does not know it."""
        response = await self._request("GET", f"/regions/{code}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return str(response.json()["name"])

    async def household_stats(
        self, region_code: str, as_of: datetime, *, token: str | None = None
    ) -> HouseholdStats:
        """A region's households by category and per child region as the registry held them
        at ``as_of`` (``GET /v1/stats/households``), scoped to the token's holder."""
        params = {"region": region_code, "as_of": as_of.isoformat()}
        response = await self._request("GET", "/stats/households", token=token, params=params)
        if response.status_code == 404:
            raise NotFound(
                t("region {region_code} not found", "region.not_found", region_code=region_code)
            )
        response.raise_for_status()
        return HouseholdStats.model_validate_json(response.content)

    async def get_household(self, household_id: UUID, *, token: str | None = None) -> HouseholdRef:
        response = await self._request("GET", f"/households/{household_id}", token=token)
        if response.status_code == 404:
            raise NotFound(
                t(
                    "household {household_id} not found in the registry",
                    "household.not_found",
                    household_id=household_id,
                )
            )
        response.raise_for_status()
        return HouseholdRef.model_validate_json(response.content)

    async def list_measures(
        self, household_id: UUID, *, token: str | None = None
    ) -> list[MeasureRead]:
        response = await self._request(
            "GET", f"/households/{household_id}/measures", token=token, params={"limit": 1000}
        )
        if response.status_code == 404:
            raise NotFound(
                t(
                    "household {household_id} not found in the registry",
                    "household.not_found",
                    household_id=household_id,
                )
            )
        response.raise_for_status()
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        return [MeasureRead.model_validate(item) for item in items]

    async def add_measure(
        self,
        household_id: UUID,
        measure: MeasureCreate,
        *,
        token: str | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return await self._request(
            "POST",
            f"/households/{household_id}/measures",
            token=token,
            headers=headers,
            json=measure.model_dump(mode="json"),
        )

    async def set_category(
        self, household_id: UUID, change: CategoryChange, *, token: str | None = None
    ) -> httpx.Response:
        return await self._request(
            "PUT",
            f"/households/{household_id}/category",
            token=token,
            json=change.model_dump(mode="json"),
        )
