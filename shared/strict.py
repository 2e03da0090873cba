"""The request contract beyond bodies (those refuse unknown fields through
``shared.request_model.RequestModel``): a query parameter the operation does not declare is
a 422 ``query.unknown`` naming it, never silently ignored (``GET /v1/households?name=张德明``
once answered the unfiltered list); and an ID number is never accepted in a URL, where access
logs, proxies and browser histories keep it (400 ``id_number.in_url``, pointing to
``POST /v1/households/search``)."""

import re
import unicodedata
from typing import Any

from fastapi import Request

from shared.errors import BadRequest, FieldError, ValidationFailed
from shared.i18n import t

# 17 digits and a digit or X standing alone (not inside a longer run of letters or digits):
# what an ID number looks like, valid checksum or not.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
# Parameter names that can only carry an ID number.
_ID_NAMES = frozenset({"id_number", "idnumber", "id_no", "sfzh"})


class IdNumberInUrl(BadRequest):
    slug = "id-number-in-url"
    title = "ID number in the URL"


def _looks_like_id_number(value: str) -> bool:
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)  # full-width digits typed in Chinese
    return _ID_NUMBER.search(value) is not None


# The query parameters each route declares, computed once per route.
_DECLARED: dict[int, frozenset[str]] = {}


def _declared(route: Any) -> frozenset[str] | None:
    dependant = getattr(route, "dependant", None)
    if dependant is None or not getattr(route, "include_in_schema", True):
        return None  # the docs pages' own routes (Swagger's OAuth redirect takes ?code=)
    key = id(route)
    names = _DECLARED.get(key)
    if names is None:
        names = _DECLARED[key] = frozenset(_query_names(dependant))
    return names


def _query_names(dependant: Any) -> set[str]:
    """The query parameters of a route's dependant and all its dependencies."""
    names = {getattr(p, "validation_alias", None) or p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def refuse_id_numbers(request: Request) -> None:
    path_values = request.scope.get("path", "").split("/")
    query = request.query_params.multi_items()
    if any(name.lower() in _ID_NAMES for name, _ in query) or any(
        _looks_like_id_number(v) for v in [*path_values, *(v for _, v in query)]
    ):
        raise IdNumberInUrl(
            t(
                "an ID number may not appear in a URL; search with POST /v1/households/search",
                "id_number.in_url",
            )
        )


def refuse_unknown_query(request: Request) -> None:
    declared = _declared(request.scope.get("route"))
    if declared is None:
        return
    unknown = sorted({name for name in request.query_params if name not in declared})
    if not unknown:
        return
    message = t("is not a query parameter of this operation", "query.unknown")
    errors = [FieldError(field=f"query.{name}", message=message) for name in unknown]
    raise ValidationFailed(
        t("unknown query parameter(s): {names}", "query.unknown", names=", ".join(unknown)),
        errors=errors,
    )


# OAuth endpoints follow RFC 6749 3.2 / RFC 7009 2.1: the server MUST ignore request
# parameters it does not recognise, so their forms are not strict. The villagers' declaration
# page posts its own HTML form, which it reads field by field and validates with the API's model.
LENIENT_FORMS = frozenset(
    {
        "create_token",
        "revoke_token",
        "dci_token",
        "declaration_submit",
        "declaration_status_lookup",
    }
)
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def refuse_unknown_form_fields(request: Request) -> None:
    """A form body (an upload) refuses fields it does not declare, as JSON bodies do."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    content_type = request.headers.get("content-type", "")
    if dependant is None or getattr(route, "name", None) in LENIENT_FORMS:
        return
    if not content_type.startswith(_FORMS):
        return
    declared = _body_names(dependant)
    unknown = sorted({name for name in (await request.form()) if name not in declared})
    if unknown:
        message = t("is not a field of this request; remove it or check its spelling")
        raise ValidationFailed(
            t("unknown field(s): {names}", "field.unknown", names=", ".join(unknown)),
            errors=[
                FieldError(field=name, message=message, code="field.unknown") for name in unknown
            ],
        )


def _body_names(dependant: Any) -> set[str]:
    names = {getattr(p, "validation_alias", None) or p.alias for p in dependant.body_params}
    for sub in dependant.dependencies:
        names |= _body_names(sub)
    return names


async def strict_request(request: Request) -> None:
    """Every operation's first dependency (see ``create_service_app``)."""
    refuse_id_numbers(request)
    refuse_unknown_query(request)
    await refuse_unknown_form_fields(request)
