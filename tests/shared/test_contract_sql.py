"""The SQL generated from the contracts' snapshots names every field, in the types the
projection reads back, so no field can be left out of one side by hand."""

import re

import pytest

from services.monitoring.projection.repository import UPSERTS
from services.registry.imports import repository as import_repository
from shared.contracts import sql as contract_sql
from shared.contracts.registry import (
    SNAPSHOTS,
    EconomicsSnapshot,
    HouseholdSnapshot,
    MemberSnapshot,
)


@pytest.mark.parametrize("model", list(SNAPSHOTS.values()), ids=lambda m: m.__name__)
def test_every_snapshot_field_has_an_sql_type(model) -> None:
    columns = contract_sql.record_columns(model, list(model.model_fields))
    assert len(columns.split(", ")) == len(model.model_fields)


def test_the_pipeline_builds_every_field_of_the_household_and_member_snapshots() -> None:
    keys = re.findall(r"'(\w+)', ", import_repository.HOUSEHOLD_SNAPSHOT)
    assert keys == list(HouseholdSnapshot.model_fields)
    lateral = import_repository.member_snapshot_join("m", "snap")
    for name in MemberSnapshot.model_fields:
        assert f" AS {name}" in lateral


def test_money_travels_as_decimal_strings_and_the_projection_keeps_contract_defaults() -> None:
    economics = contract_sql.snapshot_object(EconomicsSnapshot, "up")
    assert "'wage', up.wage::text" in economics
    assert "'resident_members', up.resident_members," in economics
    member = UPSERTS["member"].text
    assert """coalesce(r."health", 'healthy')""" in member
    assert """coalesce(r."medical_insurance", true)""" in member
