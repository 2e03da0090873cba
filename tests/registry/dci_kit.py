"""DCI test kit: the standard's schemas (the vendored, corrected YAML) as validators, a partner
with its own Ed25519 key that builds and signs envelopes, and signature checks of what the
registry sends, against the keys it publishes."""

import importlib
import json
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openapi_schema_validator import OAS30Validator

from services.registry.dci import signing
from tests.conftest import ApiClient

# PyYAML ships without type stubs: loaded as a plain module.
yaml: Any = importlib.import_module("yaml")
SPEC = Path(__file__).resolve().parents[2] / "services/registry/dci/spec"
SOCIAL, CORE, AUTHZ = "social_api_v1.0.0", "registry_core_api_v1.0.0", "authz_core_api_v1.0.0"


@cache
def spec_of(name: str) -> dict[str, Any]:
    """The vendored YAML file ``name`` (parsed once)."""
    document: dict[str, Any] = yaml.safe_load((SPEC / f"{name}.yaml").read_text())
    return document


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def validate(spec: str, path: str, instance: Any, answer: str | None = None) -> None:
    """``instance`` is valid for the request body of ``path`` in ``spec``, or, with
    ``answer`` (a status or ``default``), for that answer's body: else AssertionError."""
    content = ("content", "application/json", "schema")
    document = spec_of(spec)
    pointer = _pointer("paths", path, "post", "requestBody", *content)
    if answer is not None:
        response = document["paths"][path]["post"]["responses"][answer]
        if "$ref" in response:  # '#/components/responses/Response'
            pointer = response["$ref"] + _pointer(*content)[1:]
        else:
            pointer = _pointer("paths", path, "post", "responses", answer, *content)
    validator = OAS30Validator({**document, "$ref": pointer})
    errors = [
        f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(instance)
    ]
    assert not errors, f"{path} {answer or 'request'}: {errors}"


def validate_schema(spec: str, schema: str, instance: Any) -> None:
    document = spec_of(spec)
    validator = OAS30Validator({**document, "$ref": _pointer("components", "schemas", schema)})
    errors = [
        f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(instance)
    ]
    assert not errors, f"{schema}: {errors}"


def now() -> str:
    return datetime.now(UTC).isoformat()


class Partner:
    """A registered client with its own signing key, speaking DCI to the registry."""

    def __init__(self, api: ApiClient, client_id: str, token: str, key: Ed25519PrivateKey) -> None:
        self.client_id = client_id
        self.key = signing.key_from_private(key, client_id)
        self.http = ApiClient(api.app, api.settings)
        self.http.headers["Authorization"] = f"Bearer {token}"

    def envelope(
        self, action: str, message: dict[str, Any], total: int = 1, sender_uri: str | None = None
    ) -> dict[str, Any]:
        header: dict[str, Any] = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": now(),
            "action": action,
            "sender_id": self.client_id,
            "total_count": total,
        }
        if sender_uri is not None:
            header["sender_uri"] = sender_uri
        return {"signature": self.key.sign(header, message), "header": header, "message": message}

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return await self.http.post(path, json=body)


def search_message(*criteria: dict[str, Any], transaction_id: str = "T-1") -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "search_request": [
            {"reference_id": f"R-{i}", "timestamp": now(), "search_criteria": c}
            for i, c in enumerate(criteria, 1)
        ],
    }


def by_id(kind: str, value: str) -> dict[str, Any]:
    return {"query_type": "idtype-value", "query": {"type": kind, "value": value}}


def predicate(*expressions: tuple[str, str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "query_type": "predicate",
        "query": [
            {
                "seq_num": i,
                "expression1": {"attribute_name": n, "operator": o, "attribute_value": v},
            }
            for i, (n, o, v) in enumerate(expressions, 1)
        ],
        **extra,
    }


def verified(body: bytes | dict[str, Any], jwks: dict[str, Any], sender_id: str) -> dict[str, Any]:
    """The registry's envelope, its signature checked with the keys it publishes."""
    envelope = json.loads(body) if isinstance(body, bytes) else body
    signing.verify(
        envelope["signature"], envelope["header"], envelope["message"], jwks["keys"], sender_id
    )
    return envelope
