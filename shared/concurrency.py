"""Optimistic concurrency: ``PATCH`` requires ``If-Match: <version>``; a stale one is 412."""

from shared.errors import PreconditionFailed, PreconditionRequired, ValidationFailed
from shared.i18n import t


def parse_if_match(header: str | None) -> int:
    if header is None:
        raise PreconditionRequired(
            "send If-Match with the version you read (optimistic concurrency)",
            code="version.required",
        )
    raw = header.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not (raw.isascii() and raw.isdigit()):
        raise ValidationFailed.field(
            "If-Match", "must be the resource's version number", code="version.malformed"
        )
    return int(raw)


def check_version(header: str | None, current_version: int) -> None:
    expected = parse_if_match(header)
    if expected != current_version:
        raise PreconditionFailed(
            t(
                "the resource has changed (version {current}, you sent {sent}); "
                "read it again and retry",
                "version.stale",
                current=current_version,
                sent=expected,
            ),
            current_version=current_version,
        )
