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


# In free text as people type it: ASCII or full-width digits, a mobile number perhaps split
# 3-4-4 by a space or hyphen.
_DIGIT = "[0-9０-９]"
_ID_IN_TEXT = re.compile(rf"(?<!{_DIGIT}){_DIGIT}{{17}}[0-9０-９XxＸｘ](?!{_DIGIT})")
_MOBILE_IN_TEXT = re.compile(
    rf"(?<!{_DIGIT})[1１][3-9３-９]{_DIGIT}[ \-－]?{_DIGIT}{{4}}[ \-－]?{_DIGIT}{{4}}(?!{_DIGIT})"
)


def mask_phone(number: str) -> str:
    """``138****1234``: a mobile number as roles that see masked data read it."""
    digits = re.sub(r"[^0-9]", "", idnumber.normalize(number))
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) == 11 else "*" * len(digits)


def masked_text(text: str) -> str:
    """Free text (a reason, a note, a description) with every ID number and mobile number in
    it masked as a list masks them; the rest of the words as they were written."""
    text = _ID_IN_TEXT.sub(lambda m: idnumber.mask(idnumber.normalize(m.group(0))), text)
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def shown_text(text: str, sees_full_id_numbers: bool) -> str:
    """Free text as a reader sees it: whole for roles that see full ID numbers, else masked."""
    return text if sees_full_id_numbers else masked_text(text)
