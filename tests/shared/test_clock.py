"""One clock: every policy date is China's (Asia/Shanghai), whatever the server's zone."""

from datetime import UTC, date, datetime, timedelta

import pytest

from shared import clock, idnumber
from tests.registry.helpers import id_number


def test_at_17_utc_it_is_already_tomorrow_in_china() -> None:
    with clock.frozen(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) as moment:
        assert clock.today() == date(2027, 1, 1)
        assert clock.now() == moment
        assert (clock.now().hour, clock.now().utcoffset()) == (1, timedelta(hours=8))
    # Outside the block the clock runs again, in China's zone.
    assert clock.now().utcoffset() == timedelta(hours=8)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_date_or_naive_time_is_read_as_chinas() -> None:
    with clock.frozen(date(2026, 3, 1)):
        assert clock.now() == datetime(2026, 3, 1, tzinfo=clock.CHINA)
        with clock.frozen(datetime(2026, 3, 2, 7, 59)):
            assert clock.today() == date(2026, 3, 2)
        assert clock.today() == date(2026, 3, 1)


def test_a_person_born_today_in_china_has_a_valid_id_number(china_1am: date) -> None:
    assert idnumber.parse(id_number(china_1am)).birth_date == china_1am
    with pytest.raises(idnumber.InvalidIdNumber):
        idnumber.parse(id_number(china_1am + timedelta(days=1)))
