from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared import clock, idnumber, regions
from shared.auth import Principal
from shared.contracts.registry import (
    DepartureReason,
    Health,
    HouseholdCategory,
    LabourCapacity,
    MemberFields,
    Relation,
    SchoolingStage,
    Sex,
)
from shared.i18n import t
from shared.people import person_view
from shared.request_model import RequestModel


def _region_code(value: str) -> str:
    if not regions.is_valid_code(value):
        raise ValueError(t("must be a 12-digit region code", "region.code_format"))
    return value


RegionCode = Annotated[str, AfterValidator(_region_code)]


def member_fact_errors(id_number: str, sex: str | None, birth_date: date | None) -> dict[str, str]:
    """The one rule on a member's identity: the ID number is valid (GB 11643) and the sex and
    birth date, when given, are what it says. Returns {field: message} for what is wrong."""
    try:
        facts = idnumber.parse(id_number)
    except idnumber.InvalidIdNumber as exc:
        return {"id_number": exc.args[0]}  # a Message: shown in the reader's language
    errors: dict[str, str] = {}
    if sex is not None and sex != facts.sex:
        errors["sex"] = t("the ID number says {sex}", "id_number.sex_mismatch", sex=t(facts.sex))
    if birth_date is not None and birth_date != facts.birth_date:
        errors["birth_date"] = t(
            "the ID number says {birth_date}",
            "id_number.birth_date_mismatch",
            birth_date=facts.birth_date.isoformat(),
        )
    return errors


def _raise_for(field: str, id_number: str, sex: str | None, birth_date: date | None) -> None:
    if message := member_fact_errors(id_number, sex, birth_date).get(field):
        raise ValueError(message)


def _values(source: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of an ORM object, or of a row mapping (the read path skips the ORM)."""
    if isinstance(source, Mapping):
        return {name: source[name] for name in names}
    return {name: getattr(source, name) for name in names}


def schooling_error(in_school: bool, stage: SchoolingStage | None) -> str | None:
    """As the ledger's 在校生状况 says it: a stage means in school, except 辍学 (dropout)."""
    if stage is None or in_school == (stage != SchoolingStage.dropout):
        return None
    if stage == SchoolingStage.dropout:
        return t("a dropout is not in school (in_school false)", "member.schooling")
    return t("a member at stage {stage} is in school", "member.schooling", stage=t(stage.value))


class MemberInput(MemberFields, RequestModel):
    """Member fields as a client writes them: they must agree with each other, so a member
    entered through the API exports and re-imports unchanged."""

    ethnicity: str = Field(default="汉族", min_length=1, max_length=20)

    @model_validator(mode="after")
    def _schooling_agrees(self) -> Self:
        if message := schooling_error(self.in_school, self.schooling_stage):
            raise ValueError(message)
        return self


class MemberCreate(MemberInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "王小明",
                    "id_number": "522301198005170010",
                    "relation": "head",
                    "labour_capacity": "ordinary",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=50)
    # id_number is declared before sex and birth_date so their validators can check against it.
    id_number: str = Field(
        description="18 characters, GB 11643 check character; unique in the registry."
    )
    relation: Relation
    sex: Sex | None = Field(
        default=None, validate_default=True, description="Defaults to what the ID number says."
    )
    birth_date: date | None = Field(
        default=None, validate_default=True, description="Defaults to the ID number's."
    )

    @field_validator("id_number")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        _raise_for("id_number", value, None, None)
        return idnumber.normalize(value)

    @field_validator("sex")
    @classmethod
    def _sex_agrees(cls, value: Sex | None, info: ValidationInfo) -> Sex | None:
        number = info.data.get("id_number")
        if number is None:
            return value
        _raise_for("sex", number, value, None)
        return Sex(idnumber.parse(number).sex)

    @field_validator("birth_date")
    @classmethod
    def _birth_agrees(cls, value: date | None, info: ValidationInfo) -> date | None:
        number = info.data.get("id_number")
        if number is None:
            return value
        _raise_for("birth_date", number, None, value)
        return idnumber.parse(number).birth_date


class MemberUpdate(RequestModel):
    """Fields a ``PATCH`` may change; identity (ID number) is corrected by a new member."""

    name: str | None = Field(default=None, min_length=1, max_length=50)
    relation: Relation | None = None
    ethnicity: str | None = Field(default=None, min_length=1, max_length=20)
    education: str | None = Field(default=None, max_length=30)
    in_school: bool | None = None
    schooling_stage: SchoolingStage | None = None
    health: Health | None = None
    disability_grade: int | None = Field(default=None, ge=0, le=4)
    labour_capacity: LabourCapacity | None = None
    migrant_work_months: int | None = Field(default=None, ge=0, le=12)
    medical_insurance: bool | None = None
    pension_insurance: bool | None = None
    dibao: bool | None = None
    tekun: bool | None = None
    former_head_relation: Relation | None = Field(
        default=None,
        description="With `relation: head`: what the current head becomes (one head per household).",
    )


class MemberDeparture(RequestModel):
    """A member leaves the household (death, marriage out, moving); the record stays."""

    reason: DepartureReason
    departed_on: date
    new_head_id: UUID | None = Field(
        default=None, description="Required when the head leaves others behind."
    )

    @field_validator("departed_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > clock.today():
            raise ValueError(t("may not be in the future", "date.future"))
        return value


class MemberRead(MemberFields):
    id: UUID
    household_id: UUID
    region_code: str
    name: str | None = Field(description="Hidden from department accounts.")
    id_number: str = Field(description="Masked (5223*************X) below county level.")
    relation: Relation
    sex: Sex
    birth_date: date | None = Field(
        description="Only for roles that see full ID numbers (county and above); null for others."
    )
    birth_year: int | None = Field(description="The year of birth, for every role.")
    resident: bool
    departed_on: date | None
    departure_reason: DepartureReason | None
    duplicate_of: UUID | None = Field(
        default=None, description="重复登记：保留的成员 id (the member kept, reason `duplicate`)."
    )
    version: int

    @classmethod
    def for_principal(cls, member: Any, principal: Principal) -> Self:
        """``member``: a ``Member`` or its row as a mapping, shown by the one masking rule."""
        stored = _values(member, (n for n in cls.model_fields if n not in _DERIVED_MEMBER_FIELDS))
        data = person_view(principal, stored)
        data["resident"] = data["departed_on"] is None
        return cls.model_validate(data)


_DERIVED_MEMBER_FIELDS = ("resident", "birth_year")


ExternalIds = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=50)],
    Annotated[str, StringConstraints(min_length=1, max_length=100)],
]


def _blank_is_none(value: str | None) -> str | None:
    """A blank phone is no phone, as an empty ledger cell is."""
    return (value.strip() or None) if value is not None else None


class HouseholdFields(BaseModel):
    address: str = Field(default="", max_length=300)
    poverty_causes: list[str] = Field(default_factory=list, max_length=10, description="致贫原因")
    relocated: bool = Field(default=False, description="易地扶贫搬迁")
    external_ids: ExternalIds = Field(
        default_factory=dict, description="{system: id} in partner systems; one household per id"
    )
    phone: str | None = Field(default=None, max_length=20)

    _blank_phone = field_validator("phone")(_blank_is_none)


class HouseholdCreate(HouseholdFields, RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "region_code": "522301100001",
                    "household_no": "5223011000010001",
                    "address": "丰都村一组",
                    "category": "poverty_alleviated",
                    "poverty_causes": ["因病"],
                    "members": [
                        {"name": "王小明", "id_number": "522301198005170010", "relation": "head"}
                    ],
                }
            ]
        }
    )

    region_code: RegionCode = Field(description="A village-level 12-digit code.")
    household_no: str = Field(min_length=1, max_length=40, description="户编号, unique")
    category: HouseholdCategory
    members: list[MemberCreate] = Field(
        min_length=1, max_length=30, description="Exactly one of them the head (户主)."
    )

    @model_validator(mode="after")
    def _one_head(self) -> Self:
        heads = sum(1 for m in self.members if m.relation == Relation.head)
        if heads != 1:
            raise ValueError(
                t(
                    "exactly one member must be the head (relation 'head'), found {heads}",
                    "member.head_required",
                    heads=heads,
                )
            )
        return self


class HouseholdUpdate(RequestModel):
    address: str | None = Field(default=None, max_length=300)
    poverty_causes: list[str] | None = Field(default=None, max_length=10)
    relocated: bool | None = None
    external_ids: ExternalIds | None = None
    phone: str | None = Field(default=None, max_length=20)
    at_risk: bool | None = Field(
        default=None, description="Flag a household at risk of falling back."
    )

    _blank_phone = field_validator("phone")(_blank_is_none)


class HouseholdSummary(HouseholdFields):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    region_code: str
    household_no: str
    category: HouseholdCategory
    category_before_monitoring: HouseholdCategory | None = Field(
        default=None, description="What eliminating the risk gives back (while monitored)"
    )
    at_risk: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def for_principal(cls, household: Any, principal: Principal) -> Self:
        """Departments see no personal contact details (nor names, on members).
        ``household``: a ``Household`` or its row as a mapping."""
        return cls.model_validate(_summary_values(household, principal))


def _summary_values(household: Any, principal: Principal) -> dict[str, Any]:
    return person_view(principal, _values(household, HouseholdSummary.model_fields))


class HouseholdRead(HouseholdSummary):
    members: list[MemberRead]

    @classmethod
    def for_principal(
        cls, household: Any, principal: Principal, members: Iterable[Any] = ()
    ) -> Self:
        """The household as ``HouseholdSummary`` shows it, with its members each as
        ``MemberRead`` shows them: ``Member`` objects or member rows as mappings."""
        data = _summary_values(household, principal)
        data["members"] = [MemberRead.for_principal(m, principal) for m in members]
        return cls.model_validate(data)


class CategoryRead(BaseModel):
    household_id: UUID
    category: HouseholdCategory
    previous_category: HouseholdCategory | None
    version: int


class CategoryChangeRead(BaseModel):
    """One step of a household's category history (脱贫户 / 监测户 / 一般农户 over time)."""

    model_config = ConfigDict(from_attributes=True)

    from_category: HouseholdCategory | None
    to_category: HouseholdCategory
    reason: str
    changed_at: datetime
    changed_by: str


class HouseholdSearch(RequestModel):
    """``POST /v1/households/search``: the list's filters in a body, so an ID number never has
    to travel in a URL (URLs end up in proxy, server and browser logs)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id_number": "522301198005170010"}]},
    )

    region: str | None = Field(
        default=None,
        pattern=r"^[0-9]{12}$",
        description="12-digit region code inside yours (default: yours); outside it: 404",
    )
    category: HouseholdCategory | None = None
    q: str | None = Field(
        default=None,
        max_length=50,
        description="A member's name (part), a household number or an ID number",
    )
    risk: bool | None = Field(default=None, description="Only households flagged at risk (or not)")
    id_number: str | None = Field(
        default=None, min_length=18, max_length=18, description="Exact ID number"
    )
    household_no: str | None = Field(default=None, max_length=40)
    cursor: str | None = Field(default=None, description="`next_cursor` of the previous page.")
    limit: int = Field(default=50, ge=1, le=1000, description="Page size (max 1000).")
