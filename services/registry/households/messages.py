"""What the registry answers about records the caller may not see, in one place.

Outside the caller's region every answer reads as if the record did not exist; a value that
must be unique in the whole registry (an ID number, a household number, a partner's id) and is
held outside the caller's region is a conflict that names nothing: not the household, not
where, not even that it is "in another region"."""


def taken(what: str) -> str:
    """The conflict for a unique value held outside the caller's region."""
    return f"the {what} is already taken"


ID_NUMBER_TAKEN = taken("ID number")
HOUSEHOLD_NO_TAKEN = taken("household number")
