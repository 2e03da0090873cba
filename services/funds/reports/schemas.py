from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.registry import MeasureRead
from shared.money import Money


class FundFigures(BaseModel):
    region_code: str
    received: Money = Field(description="Funds the region issued plus allocations it received.")
    allocated: Money = Field(description="Allocated onward to regions below.")
    paid: Money = Field(description="Paid by projects in the region (net of reversals).")
    industry_paid: Money
    payment_rate: float = Field(
        ge=0, description="paid / received (0 to 1; 0 when nothing received)"
    )
    industry_share: float = Field(ge=0, le=1, description="industry_paid / paid")


class FundReport(FundFigures):
    year: int
    children: list[FundFigures]


class TraceProject(BaseModel):
    id: UUID
    name: str
    kind: str
    status: str
    county_code: str
    budget: Money


class TracePayment(BaseModel):
    id: UUID
    project_id: UUID
    fund_id: UUID
    amount: Money
    payee: str | None = Field(description="Null for departments, who see no names.")
    voucher_no: str
    paid_on: date
    reverses: UUID | None


class TraceIncomeShare(BaseModel):
    asset_id: UUID
    asset_name: str
    project_id: UUID
    period: str
    recipient_type: str
    amount: Money


class HouseholdTotals(BaseModel):
    payments: Money = Field(description="Net payments to the household's 一卡通 account.")
    asset_income: Money = Field(description="Asset income shares distributed to it.")
    funds_total: Money = Field(description="payments + asset_income")
    measures: Money = Field(description="Sum of the registry's measure amounts (may overlap).")


class HouseholdTrace(BaseModel):
    household_id: UUID
    region_code: str
    projects: list[TraceProject]
    payments: list[TracePayment]
    asset_income: list[TraceIncomeShare]
    measures: list[MeasureRead]
    totals: HouseholdTotals


class TraceAllocation(BaseModel):
    id: UUID
    from_region_code: str
    region_code: str
    amount: Money
    purpose: str


class FundTraceProject(TraceProject):
    paid: Money = Field(description="Paid on this project out of this fund.")
    payments: list[TracePayment]


class FundTrace(BaseModel):
    fund_id: UUID
    document_no: str
    amount: Money
    allocations: list[TraceAllocation]
    projects: list[FundTraceProject]
    allocated: Money = Field(description="Allocated by the fund's own region.")
    paid: Money = Field(description="Spent: the sum of every payment below, to the fen.")
