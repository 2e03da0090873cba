"""The duplicate matcher on a small labelled set: each kind of duplicate issue 26 names is
proposed, each kind of look-alike (different people) is not."""

from datetime import date

import pytest

from services.registry.duplicates import matcher
from shared import idnumber
from tests.registry.duplicates_kit import one_digit, person, swapped, table

V1, V2, ELSEWHERE = "522301100001", "522301100002", "522323105009"


def make(born: date, seq: int, area: str = "522301") -> str:
    return idnumber.make(area, born, seq)


# (kind, the registered record, its duplicate)
DAUGHTER = person("王秀英", make(date(1990, 3, 5), 122), "H1", V1, "child", "13900000001")
MARRIED = person("王秀英", one_digit(DAUGHTER["id_number"], 8), "H2", V2, "spouse", "13900000002")
FARMER = person("陈明", make(date(1975, 7, 1), 311), "H3", V1)
MISTYPED = person("陈明", swapped(FARMER["id_number"], 3), "H4", ELSEWHERE, "parent")
BOY = person("张伟", make(date(2012, 1, 2), 51), "H5", V2, "child")
BOY_AGAIN = person("章伟", make(date(2012, 1, 2), 77), "H5", V2, "child")
GIRL = person("李娜", make(date(2014, 2, 3), 42), "H6", V1, "child")
GIRL_AGAIN = person("李娜娜", one_digit(GIRL["id_number"], 16), "H6", V1, "child")
HEAD = person("赵强", make(date(1960, 4, 4), 11), "H7", V1, "head", "13900000007")
WIFE = person("孙芳", make(date(1962, 6, 6), 22), "H7", V1, "spouse", "13900000007")
MOVED_HEAD = person("赵强", one_digit(HEAD["id_number"], 9), "H8", ELSEWHERE, "head")
MOVED_WIFE = person("孙芳", swapped(WIFE["id_number"], 15), "H8", ELSEWHERE, "spouse")
OLD = person("周丽", make(date(1958, 8, 8), 62), "H10", V2)
OLD_AGAIN = person("周丽", OLD["id_number"][:17] + "0", "H11", V1)
DUPLICATES = {
    "married_daughter": (DAUGHTER, MARRIED),
    "mistyped_id_swap": (FARMER, MISTYPED),
    "homophone_child": (BOY, BOY_AGAIN),
    "longer_name_child": (GIRL, GIRL_AGAIN),
    "relocated_head": (HEAD, MOVED_HEAD),
    "relocated_spouse": (WIFE, MOVED_WIFE),
    "check_character": (OLD, OLD_AGAIN),
}
# Different people who look alike.
TWIN = person("刘洋", make(date(2015, 9, 9), 13), "H9", V1, "child", "13900000009")
TWIN_SISTER = person("刘杰", make(date(2015, 9, 9), 15), "H9", V1, "child", "13900000009")
NAMESAKE = person("王伟", make(date(1980, 1, 1), 33), "H12", V1)
OTHER_NAMESAKE = person("王伟", make(date(1983, 11, 20), 35), "H13", V1)
SAME_DAY = person("王芳", make(date(1990, 3, 5), 142), "H14", V1)
LOOK_ALIKES = {
    "twins": (TWIN, TWIN_SISTER),
    "namesakes_in_one_village": (NAMESAKE, OTHER_NAMESAKE),
    "same_surname_same_birthday": (DAUGHTER, SAME_DAY),
}


@pytest.fixture(scope="module")
def proposed() -> dict[frozenset[str], dict[str, object]]:
    everyone = [p for pair in (*DUPLICATES.values(), *LOOK_ALIKES.values()) for p in pair]
    unique = list({p["member_id"]: p for p in everyone}.values())
    pairs = matcher.find_pairs(table(unique))
    return {frozenset((r["member_a"], r["member_b"])): r for r in pairs.to_pylist()}


@pytest.mark.parametrize("kind", DUPLICATES)
def test_each_kind_of_duplicate_is_proposed_with_its_fields_weights(proposed, kind) -> None:
    first, second = DUPLICATES[kind]
    pair = proposed.get(frozenset((first["member_id"], second["member_id"])))
    assert pair is not None, kind
    assert pair["probability"] >= 0.9
    # The name (or its sound) speaks for one person; each field's weight is there.
    assert pair["weight_name"] > 0
    assert all(f"weight_{f}" in pair for f in matcher.FIELDS)


@pytest.mark.parametrize("kind", LOOK_ALIKES)
def test_look_alikes_are_not_proposed(proposed, kind) -> None:
    first, second = LOOK_ALIKES[kind]
    assert frozenset((first["member_id"], second["member_id"])) not in proposed


def test_the_check_at_entry_scores_as_the_scan_does(proposed) -> None:
    found = matcher.score(table([BOY_AGAIN]), table([BOY, TWIN, NAMESAKE]))
    assert [c.member_id for c in found] == [BOY["member_id"]]
    scan = proposed[frozenset((BOY["member_id"], BOY_AGAIN["member_id"]))]
    assert found[0].probability == pytest.approx(scan["probability"], rel=1e-6)
    weights = dict((name, weight) for name, _, weight in found[0].fields)
    assert weights["name"] == pytest.approx(scan["weight_name"], abs=0.01)
