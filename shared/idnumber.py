"""Resident identity numbers (公民身份号码, GB 11643-1999).

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence (odd = male),
and a check character by ISO 7064 MOD 11-2 (``0-9`` or ``X``).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from shared import clock
from shared.i18n import t

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: Python's \d also takes "１"


class InvalidIdNumber(ValueError):
    """Raised with a reason a person can act on: ``args[0]`` is a ``Message`` (code
    ``id_number.*``), so it can be shown in the reader's language."""


@dataclass(frozen=True, slots=True)
class IdNumberFacts:
    birth_date: date
    sex: str  # "male" | "female"
    area_code: str


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize(raw: str) -> str:
    """Trimmed, upper case, and full-width characters typed with a Chinese input method
    (``５２２３…Ｘ``) made ASCII, so one person has one spelling of the number."""
    if not raw.isascii():
        raw = unicodedata.normalize("NFKC", raw)
    return raw.strip().upper()


def parse(raw: str, *, today: date | None = None) -> IdNumberFacts:
    """Validate an ID number and return what it says about its holder."""
    number = normalize(raw)
    if len(number) != 18:
        raise InvalidIdNumber(
            t("must be 18 characters, got {length}", "id_number.length", length=len(number))
        )
    if not _SHAPE.match(number):
        raise InvalidIdNumber(t("must be 17 digits followed by a digit or X", "id_number.format"))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber(
            t("birth date {digits} is not a real date", "id_number.birth_date", digits=number[6:14])
        ) from None
    if born.year < 1900 or born > (today or clock.today()):
        raise InvalidIdNumber(
            t(
                "birth date {born} is out of range",
                "id_number.birth_date",
                born=born.isoformat(),
            )
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(
            t(
                "check character does not match (expected {expected})",
                "id_number.checksum",
                expected=expected,
            )
        )
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return IdNumberFacts(birth_date=born, sex=sex, area_code=number[:6])


def looks_like(raw: str) -> bool:
    """Shaped like an ID number (17 digits and a digit or X), checksum or not: a search term
    that is one is looked up as one."""
    return bool(_SHAPE.match(normalize(raw)))


def make(area_code: str, birth: date, sequence: int) -> str:
    """Build a valid number (demo data, tests, benchmarks). ``sequence`` odd means male."""
    first17 = f"{area_code[:6]}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_character(first17)


def mask(number: str) -> str:
    """``5223*************X``: what roles below county level see. The birth date (digits 7-14)
    and the sequence (15-17, which carry the sex) are hidden with the county digits, so the
    number cannot be rebuilt from the mask and the region; only the check character stays, for
    telling two people apart on a list."""
    return f"{number[:4]}{'*' * 13}{number[-1]}" if len(number) == 18 else "*" * len(number)


def mask_sql(column: str) -> str:
    """The same mask as ``mask``, as an SQL expression over ``column`` (set-based exports)."""
    return f"left({column}, 4) || '{'*' * 13}' || right({column}, 1)"


def masked_fields_sql(data: str, fields: tuple[str, ...]) -> str:
    """A ``jsonb`` object with each of ``fields`` of the ``jsonb`` expression ``data`` masked
    as ``mask`` masks it (null stays null): an event's ID numbers as a role that sees no full
    numbers reads them in the feed and webhooks."""
    values = [(name, f"({data}->>'{name}')") for name in fields]
    pairs = ", ".join(
        f"'{name}', CASE WHEN length({value}) = 18 THEN {mask_sql(value)} "
        f"ELSE repeat('*', length({value})) END"
        for name, value in values
    )
    return f"jsonb_build_object({pairs})"
