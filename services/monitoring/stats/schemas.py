from pydantic import BaseModel


class ChildStats(BaseModel):
    region_code: str
    households: int
    monitored_households: int
    open_alerts: int
    open_cases: int
    overdue_cases: int


class Overview(BaseModel):
    region_code: str
    year: int | None
    households_by_category: dict[str, int]
    open_alerts_by_rule: dict[str, int]
    cases_by_stage: dict[str, int]
    overdue_cases: int
    monitored_by_risk_type: dict[str, int]
    children: list[ChildStats]
