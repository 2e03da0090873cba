"""Public notices (公告公示) are posted in villages and online: they never show an ID
number or a phone number."""

from datetime import date, timedelta

import pytest

from tests.funds.conftest import county, county_fund, days_ago, make_project


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("受益户：张三，身份证522301199001011234", "id_number"),
        ("联系人李四 13812345678", "phone"),
        ("张三 52230119900101123X 电话 139 1234 5678", "id_number"),
    ],
    ids=["id_number", "phone", "id_number_with_x"],
)
async def test_a_notice_with_personal_data_is_refused(funds, content, found) -> None:
    fund = await county_fund(funds)
    project = (await make_project(funds, [fund["id"]])).json()
    response = await county(funds).post(
        "/v1/notices",
        json={
            "subject_type": "project",
            "subject_id": project["id"],
            "starts_on": days_ago(0),
            "ends_on": days_ago(-10),
            "content": content,
        },
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "content"
    assert found in error["message"]
    assert "5223" not in response.text
    assert "1381" not in response.text


async def test_a_notice_without_personal_data_is_posted(funds) -> None:
    fund = await county_fund(funds)
    project = (await make_project(funds, [fund["id"]])).json()
    response = await county(funds).post(
        "/v1/notices",
        json={
            "subject_type": "project",
            "subject_id": project["id"],
            "starts_on": days_ago(0),
            "ends_on": days_ago(-10),
            "content": "项目公示：精品水果种植基地，预算1000.00元，受益农户3户",
        },
    )
    assert response.status_code == 201, response.text


async def test_at_1am_in_china_a_notice_starts_on_chinas_date(funds, china_1am) -> None:
    # 17:00 UTC is 01:00 the next day in China: a notice posted now starts on China's date;
    # the server's (UTC) date is already yesterday there.
    fund = await county_fund(funds)
    project = (await make_project(funds, [fund["id"]])).json()

    def notice(starts_on: date) -> dict[str, str]:
        return {
            "subject_type": "project",
            "subject_id": project["id"],
            "starts_on": starts_on.isoformat(),
            "ends_on": (starts_on + timedelta(days=10)).isoformat(),
            "content": "项目公示：精品水果种植基地",
        }

    yesterday = await county(funds).post("/v1/notices", json=notice(china_1am - timedelta(1)))
    assert yesterday.status_code == 422, yesterday.text
    assert yesterday.json()["errors"][0]["field"] == "starts_on"
    posted = await county(funds).post("/v1/notices", json=notice(china_1am))
    assert posted.status_code == 201, posted.text
