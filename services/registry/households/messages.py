"""What the registry answers about records the caller may not see, in one place.

Outside the caller's region every answer reads as if the record did not exist; a value that
must be unique in the whole registry (an ID number, a household number, a partner's id) and is
held outside the caller's region is a conflict that names nothing: not the household, not
where, not even that it is "in another region"."""

from shared.i18n import Message, t


def taken(what: str, code: str) -> Message:
    """The conflict for a unique value held outside the caller's region (``what`` is a msgid
    too: "ID number" reads 身份证号码)."""
    return t("the {what} is already taken", code, what=t(what))


def external_id_taken(system: str) -> Message:
    return t("the {system} id is already taken", "external_id.taken", system=system)


ID_NUMBER_TAKEN = taken("ID number", "id_number.taken")
HOUSEHOLD_NO_TAKEN = taken("household number", "household_no.taken")
