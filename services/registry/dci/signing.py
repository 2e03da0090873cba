"""DCI message signatures, as OpenSPP signs them (``spp_dci/services/signing.py``), so a partner
that talks DCI to OpenSPP verifies us with the same code.

- digest: base64 of SHA-256 over ``json.dumps({"header": h, "message": m}, sort_keys=True,
  separators=(",", ":"))`` (Python's default ``ensure_ascii``: Chinese text as ``\\uXXXX``);
- signed string: ``"(created): C\\n(expires): E\\ndigest: D"`` (Unix seconds);
- Ed25519 over that string, base64;
- the ``signature`` field: ``namespace="dci", kidId="{sender_id}|{kid}|ed25519",
  algorithm="ed25519", created="C", expires="E", headers="(created) (expires) digest",
  signature="S"``; verification also accepts ``namespace="spdci"`` and a leading
  ``Signature:`` (the standard's example).

Key ids are RFC 7638 thumbprints of the public key's JWK (RFC 8037: ``kty`` OKP, ``crv``
Ed25519, ``x``)."""

import base64
import hashlib
import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.i18n import Message, t
from shared.settings import Settings

EXPIRES_S = 300  # a signature is valid 5 minutes after ``created``
CLOCK_SKEW_S = 60  # a ``created`` this far in the future is still believed
NAMESPACES = ("dci", "spdci")
_PARAM = re.compile(r'(\w+)="([^"]*)"')


class SignatureError(Exception):
    """Why a signature is refused: ``missing`` (no signature) or ``invalid``."""

    def __init__(self, kind: str, reason: Message) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(x: str) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = _b64url(raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": thumbprint(x),
        "use": "sig",
        "alg": "EdDSA",
    }


def public_key_of(jwk: dict[str, Any]) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_b64url_decode(str(jwk["x"])))


def x_is_valid(x: str) -> bool:
    """Whether ``x`` is a base64url Ed25519 public key (32 bytes)."""
    try:
        return len(_b64url_decode(x)) == 32 and _b64url(_b64url_decode(x)) == x
    except (ValueError, TypeError):
        return False


def digest(header: Any, message: Any) -> str:
    body = json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()


def _signed_string(created: int, expires: int, digest_b64: str) -> bytes:
    return f"(created): {created}\n(expires): {expires}\ndigest: {digest_b64}".encode()


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    kid: str
    sender_id: str

    def jwk(self) -> dict[str, str]:
        return public_jwk(self.private.public_key())

    def sign(self, header: Any, message: Any, now: float | None = None) -> str:
        created = int(now if now is not None else time.time())
        expires = created + EXPIRES_S
        signature = self.private.sign(_signed_string(created, expires, digest(header, message)))
        return (
            f'namespace="dci", kidId="{self.sender_id}|{self.kid}|ed25519", '
            f'algorithm="ed25519", created="{created}", expires="{expires}", '
            f'headers="(created) (expires) digest", '
            f'signature="{base64.b64encode(signature).decode()}"'
        )


def key_from_private(private: Ed25519PrivateKey, sender_id: str) -> SigningKey:
    return SigningKey(private, public_jwk(private.public_key())["kid"], sender_id)


@lru_cache(maxsize=8)
def _registry_private(pem: str, secret: str) -> Ed25519PrivateKey:
    if pem:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("POVGUARD_DCI_SIGNING_KEY must be an Ed25519 private key")
        return key
    # No key configured (demo mode, tests): one derived from the process secret, so every
    # process of the deployment (services and workers) signs with the same key.
    seed = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"povguard-dci-signing").derive(
        secret.encode()
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


def registry_key(settings: Settings) -> SigningKey:
    """The registry's own signing key (see ``Settings.dci_signing_key``)."""
    pem = settings.dci_signing_key
    if not pem and settings.dci_signing_key_file:
        pem = Path(settings.dci_signing_key_file).read_text()
    return key_from_private(_registry_private(pem, settings.secret_key), settings.dci_sender_id)


@dataclass(frozen=True)
class ParsedSignature:
    sender_id: str
    kid: str
    created: int
    expires: int
    signature: bytes


def parse(value: str | None) -> ParsedSignature:
    if not value or not value.strip():
        raise SignatureError("missing", t("no signature", "dci.sig.none"))
    text = value.strip()
    if text[:10].lower() == "signature:":
        text = text[10:]
    params = dict(_PARAM.findall(text))
    try:
        sender_id, kid, algorithm = params["kidId"].split("|")
        created, expires = int(params["created"]), int(params["expires"])
        signature = base64.b64decode(params["signature"], validate=True)
    except (KeyError, ValueError):
        raise SignatureError(
            "invalid", t("the signature field is malformed", "dci.sig.malformed")
        ) from None
    if params.get("namespace") not in NAMESPACES:
        raise SignatureError("invalid", t("unknown namespace", "dci.sig.namespace"))
    if params.get("algorithm", "").lower() != "ed25519" or algorithm.lower() != "ed25519":
        raise SignatureError("invalid", t("the algorithm is not ed25519", "dci.sig.algorithm"))
    return ParsedSignature(sender_id, kid, created, expires, signature)


def verify(
    value: str | None,
    header: Any,
    message: Any,
    keys: list[dict[str, Any]],
    sender_id: str,
    now: float | None = None,
) -> str:
    """The key id that signed ``header`` and ``message`` as ``sender_id``; ``SignatureError``
    when it is missing, malformed, expired, by another sender or by no key in ``keys``."""
    parsed = parse(value)
    at = time.time() if now is None else now
    if parsed.sender_id != sender_id:
        raise SignatureError("invalid", t("signed by another sender", "dci.sig.sender"))
    if parsed.created > at + CLOCK_SKEW_S or parsed.expires < at or parsed.expires < parsed.created:
        raise SignatureError("invalid", t("created/expires do not cover now", "dci.sig.expired"))
    jwk = next((k for k in keys if k.get("kid") == parsed.kid), None)
    if jwk is None:
        raise SignatureError("invalid", t("no registered key has this key id", "dci.sig.kid"))
    signed = _signed_string(parsed.created, parsed.expires, digest(header, message))
    try:
        public_key_of(jwk).verify(parsed.signature, signed)
    except (InvalidSignature, ValueError):
        raise SignatureError(
            "invalid", t("the signature does not match the message", "dci.sig.mismatch")
        ) from None
    return parsed.kid
