from decimal import Decimal

from sqlalchemy import Numeric
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.database import Base
from shared.db import RegionCode

# A payment above this many yuan counts as paid only once a second county account confirms
# it (domain.md section 8); the figure is policy, set per region and year.
PAYMENT_CONFIRMATION_THRESHOLD = Decimal("50000.00")


class FundsPolicy(Base):
    """The funds rules' figures (*policy*), per region (province, or a county override) and
    from a year on: the row in force for year Y is the latest with ``year <= Y``."""

    __tablename__ = "policies"

    region_code: Mapped[str] = RegionCode(primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    notice_days: Mapped[int] = mapped_column(default=10)
    idle_days: Mapped[int] = mapped_column(default=90)
    stall_days: Mapped[int] = mapped_column(default=180)
    results_notice_days: Mapped[int] = mapped_column(default=30)
    asset_idle_days: Mapped[int] = mapped_column(default=365)
    undistributed_days: Mapped[int] = mapped_column(default=90)
    industry_share_min: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    # 2021-2022: the industry share may also not fall below the county's previous year's.
    industry_share_keep_previous: Mapped[bool] = mapped_column(default=False)
    payment_confirmation_threshold: Mapped[Decimal] = mapped_column(
        Numeric(14, 2),
        default=PAYMENT_CONFIRMATION_THRESHOLD,
        server_default=str(PAYMENT_CONFIRMATION_THRESHOLD),
    )
