"""Personal data that must never be published (public notices, 公告公示): national ID
numbers and mobile phone numbers. Notices are posted in villages and online; domain.md says
they show no ID number, phone, bank account or health status."""

import re

from shared import idnumber

# 17 digits and a check character, or an 11-digit mainland mobile number; full-width digits
# are folded first, and digits glued to other digits do not count as a separate number.
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def personal_data_in(text: str) -> list[str]:
    """What kinds of personal data ``text`` contains: ``"id_number"``, ``"phone"``."""
    folded = idnumber.normalize(text)
    found = []
    if _ID_NUMBER.search(folded):
        found.append("id_number")
    if _MOBILE.search(folded):
        found.append("phone")
    return found
