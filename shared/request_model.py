"""The base of every request body: a field the schema does not know is refused (422
``field.unknown`` naming it), never dropped. A typo such as ``wage_income`` for ``wage``
once answered 200 and zeroed a year's amounts; a client must hear that it was not read."""

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body (or an object inside one). Response models stay ``BaseModel``: what the
    server answers may grow, what it accepts must be exactly what it reads."""

    model_config = ConfigDict(extra="forbid")
