"""A households file validated as columns: the staging layout the pipeline COPYs, the
vectorised checks (formats, lengths, the ID number's check character and its agreement with
sex and birth date) and the word columns' rules applied once per distinct value. The rules
themselves are ``rules``' (a row found bad is validated again there, for its reasons)."""

from collections.abc import Sequence
from datetime import date
from typing import Any, overload

import polars as pl
from pgpq import ArrowToPostgresBinaryEncoder

from services.registry.imports import template as t
from services.registry.imports.rules import (
    DISAGREES,
    LIMITS,
    REGION_CODE_FORMAT,
    Errors,
    _birth_given,
    _category,
    _causes,
    _date,
    _dibao,
    _disability,
    _health,
    _labour,
    _medical,
    _months,
    _pension,
    _relation,
    _relocated,
    _schooling,
    _sex_given,
    _tekun,
    economics_row,
    excel_number,
    household_row,
)
from shared import idnumber

__all__ = [
    "DISAGREES",
    "ECONOMICS_STAGE",
    "HOUSEHOLD_STAGE",
    "REGION_CODE_FORMAT",
    "Errors",
    "StagedFrame",
    "_causes",
    "_date",
    "_schooling",
    "economics_row",
    "excel_number",
    "household_columns",
    "household_row",
]

# Staging record layout (the pipeline's temp table has these columns in this order).
HOUSEHOLD_STAGE = [
    ("row_no", "integer"),
    ("household_no", "text"),
    ("region_code", "text"),
    ("address", "text"),
    ("category", "text"),
    ("poverty_causes", "text[]"),
    ("relocated", "boolean"),
    ("phone", "text"),
    ("name", "text"),
    ("id_number", "text"),
    ("relation", "text"),
    ("sex", "text"),
    ("birth_date", "date"),
    ("ethnicity", "text"),
    ("education", "text"),
    ("in_school", "boolean"),
    ("schooling_stage", "text"),
    ("health", "text"),
    ("disability_grade", "smallint"),
    ("labour_capacity", "text"),
    ("migrant_work_months", "smallint"),
    ("medical_insurance", "boolean"),
    ("pension_insurance", "boolean"),
    ("dibao", "boolean"),
    ("tekun", "boolean"),
    ("ext_system", "text"),
    ("ext_id", "text"),
    ("bad", "boolean"),
]


# The staging table's columns as Polars types (what the binary COPY sends).
_POLARS_TYPES: dict[str, Any] = {
    "integer": pl.Int32,
    "text": pl.String,
    "text[]": pl.List(pl.String),
    "boolean": pl.Boolean,
    "date": pl.Date,
    "smallint": pl.Int16,
}
HOUSEHOLD_SCHEMA = {name: _POLARS_TYPES[kind] for name, kind in HOUSEHOLD_STAGE}
_KEYS = [c.key for c in t.HOUSEHOLD_COLUMNS]
# Columns whose rule is applied once per distinct value (a ledger repeats a few words in
# them), with the staged column(s) each gives and their types.
_BY_VALUE: list[tuple[str, Any, list[tuple[str, Any]]]] = [
    ("category", _category, [("category", pl.String)]),
    ("poverty_causes", _causes, [("poverty_causes", pl.List(pl.String))]),
    ("relocated", _relocated, [("relocated", pl.Boolean)]),
    ("relation", _relation, [("relation", pl.String)]),
    ("sex", _sex_given, [("sex_given", pl.String)]),
    ("birth_date", _birth_given, [("birth_given", pl.Date)]),
    ("schooling", _schooling, [("in_school", pl.Boolean), ("schooling_stage", pl.String)]),
    ("health", _health, [("health", pl.String)]),
    ("disability_grade", _disability, [("disability_grade", pl.Int16)]),
    ("labour_capacity", _labour, [("labour_capacity", pl.String)]),
    ("migrant_work_months", _months, [("migrant_work_months", pl.Int16)]),
    ("medical_insurance", _medical, [("medical_insurance", pl.Boolean)]),
    ("pension_insurance", _pension, [("pension_insurance", pl.Boolean)]),
    ("dibao", _dibao, [("dibao", pl.Boolean)]),
    ("tekun", _tekun, [("tekun", pl.Boolean)]),
]


def _by_value(column: pl.Series, rule: Any, outputs: list[tuple[str, Any]]) -> pl.DataFrame:
    """``rule`` applied once per distinct cell of ``column``: its staged value(s) and whether
    the cell is valid (``{key}_ok``), row for row."""
    distinct = column.unique(maintain_order=True).to_list()
    values: list[list[Any]] = [[] for _ in outputs]
    valid = []
    for raw in distinct:
        errors: Errors = []
        value = rule(raw, errors)
        for i, v in enumerate(value if len(outputs) > 1 else (value,)):
            values[i].append(v)
        valid.append(not errors)
    lookup = pl.DataFrame(
        [
            pl.Series("raw", distinct, dtype=pl.String),
            *(pl.Series(n, v, dtype=d) for (n, d), v in zip(outputs, values, strict=True)),
            pl.Series(f"{column.name}_ok", valid, dtype=pl.Boolean),
        ]
    )
    return (
        column.rename("raw")
        .to_frame()
        .join(lookup, on="raw", how="left", maintain_order="left", nulls_equal=True)
        .drop("raw")
    )


def _length_ok(key: str, *, required: bool = False) -> pl.Expr:
    """``_text``'s rule over a cell column as an expression (characters, as Python's ``len``
    counts them)."""
    length = pl.col(f"_{key}").str.len_chars()
    ok = length <= LIMITS[key]
    return ok & (length > 0) if required else ok


_ID_SHAPE = r"^[0-9]{17}[0-9Xx]$"


def _id_number_facts(today: date) -> list[pl.Expr]:
    """GB 11643 as expressions over ``id_number``: ``id_ok`` (shape, birth date from 1900 to
    today, check character), and the sex and birth date it gives. A number that fails goes
    through ``_id_number_reason`` for its reason, so the reasons stay those of the row rule."""
    number = pl.col("_id_number").str.to_uppercase()
    digit = [number.str.slice(i, 1).cast(pl.Int32, strict=False).fill_null(0) for i in range(17)]
    total = sum((d * w for d, w in zip(digit, idnumber._WEIGHTS, strict=True)), pl.lit(0))
    check = (total % 11).replace_strict(
        list(range(11)), list(idnumber._CHECK), return_dtype=pl.String
    )
    year = number.str.slice(6, 4).cast(pl.Int32, strict=False).fill_null(0)
    month = number.str.slice(10, 2).cast(pl.Int32, strict=False).fill_null(0)
    day = number.str.slice(12, 2).cast(pl.Int32, strict=False).fill_null(0)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days_in_month = (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    real = (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in_month) & (year >= 1900)
    born = pl.date(
        pl.when(real).then(year).otherwise(2000),
        pl.when(real).then(month).otherwise(1),
        pl.when(real).then(day).otherwise(1),
    )
    ok = (
        pl.col("_id_number").str.contains(_ID_SHAPE)
        & real
        & (born <= today)
        & (check == number.str.slice(17, 1))
    )
    sex = pl.when(digit[16] % 2 == 1).then(pl.lit("male")).otherwise(pl.lit("female"))
    return [
        number.alias("id_number"),
        ok.alias("id_ok"),
        sex.alias("id_sex"),
        born.alias("id_birth"),
    ]


class StagedFrame(Sequence[tuple[Any, ...]]):
    """Staging rows held as columns (COPYed to PostgreSQL in binary straight from them), read
    as a sequence of records where a caller wants rows."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._copy_data: list[bytes] | None = None

    def copy_data(self) -> list[bytes]:
        """The rows as PostgreSQL binary COPY data, encoded from the Arrow columns (in Rust,
        no Python object per cell) once, in parts; the column types are the staging
        table's."""
        if self._copy_data is None:
            table = self.frame.to_arrow()
            encoder = ArrowToPostgresBinaryEncoder(table.schema)
            self._copy_data = [
                encoder.write_header(),
                *(encoder.write_batch(batch) for batch in table.to_batches()),
                encoder.finish(),
            ]
        return self._copy_data

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        if isinstance(index, slice):
            return self.frame[index].rows()
        return self.frame.row(index)


def household_columns(
    row_numbers: Sequence[int], cells: Sequence[Sequence[str]] | pl.DataFrame, today: date
) -> tuple[pl.DataFrame, list[tuple[int, Errors]]]:
    """The member rows of a households file validated as columns: the staging frame (the
    columns of ``HOUSEHOLD_STAGE``) and (row, errors) for the bad rows. ``cells``: the
    reader's text columns (named by the template's keys), or rows of cells.

    Formats, lengths, the ID number's check character and its agreement with the sex and
    birth date are vectorised expressions; the word columns (户类型, 是/否, dates, ...) run
    the row rules above once per distinct value. A row found bad is then validated again by
    ``household_row``, which gives its staged record and its reasons exactly as row-by-row
    validation does (a few rows of a ledger, so the cost is theirs)."""
    if not isinstance(cells, pl.DataFrame):
        width = len(_KEYS)
        by_column = list(zip(*cells, strict=True)) if cells else [() for _ in range(width)]
        cells = pl.DataFrame(
            [pl.Series(k, v, dtype=pl.String) for k, v in zip(_KEYS, by_column, strict=True)]
        )
    # The cells' columns are named _{key}, the staged ones {key}.
    raw = cells.select(pl.col(k).alias(f"_{k}") for k in _KEYS)
    parts = [raw, pl.Series("row_no", row_numbers, dtype=pl.Int32).to_frame()]
    parts += [_by_value(raw[f"_{key}"], rule, outputs) for key, rule, outputs in _BY_VALUE]
    frame = pl.concat(parts, how="horizontal").with_columns(_id_number_facts(today))
    sex_raw, birth_raw = pl.col("_sex"), pl.col("_birth_date")
    bad = ~pl.all_horizontal(
        _length_ok("household_no", required=True),
        pl.col("_region_code").str.contains(r"^[0-9]{12}$")
        & ~pl.col("_region_code").str.starts_with("00"),
        _length_ok("address"),
        _length_ok("phone"),
        _length_ok("name", required=True),
        _length_ok("ethnicity"),
        _length_ok("education"),
        pl.col("id_ok"),
        *(pl.col(f"_{key}_ok") for key, _, _ in _BY_VALUE),
        (sex_raw == "") | (pl.col("sex_given") == pl.col("id_sex")),
        (birth_raw == "") | (pl.col("birth_given") == pl.col("id_birth")),
    )
    blank_none = {
        key: pl.when(pl.col(f"_{key}") == "").then(None).otherwise(pl.col(f"_{key}"))
        for key in ("household_no", "phone", "education")
    }
    staged = frame.with_columns(bad.alias("bad")).select(
        pl.col("row_no"),
        blank_none["household_no"].alias("household_no"),
        pl.col("_region_code").alias("region_code"),
        pl.col("_address").alias("address"),
        "category",
        "poverty_causes",
        "relocated",
        blank_none["phone"].alias("phone"),
        pl.col("_name").alias("name"),
        "id_number",
        "relation",
        pl.when(sex_raw == "").then(pl.col("id_sex")).otherwise(pl.col("sex_given")).alias("sex"),
        pl.when(birth_raw == "")
        .then(pl.col("id_birth"))
        .otherwise(pl.col("birth_given"))
        .alias("birth_date"),
        pl.when(pl.col("_ethnicity") == "")
        .then(pl.lit("汉族"))
        .otherwise(pl.col("_ethnicity"))
        .alias("ethnicity"),
        blank_none["education"].alias("education"),
        "in_school",
        "schooling_stage",
        "health",
        "disability_grade",
        "labour_capacity",
        "migrant_work_months",
        "medical_insurance",
        "pension_insurance",
        "dibao",
        "tekun",
        pl.lit(None, pl.String).alias("ext_system"),
        pl.lit(None, pl.String).alias("ext_id"),
        "bad",
    )
    flagged = staged["bad"]
    if not flagged.any():
        return staged.cast(HOUSEHOLD_SCHEMA), []  # type: ignore[arg-type]
    records, errors = [], []
    for i in flagged.arg_true().to_list():
        record, errs = household_row(row_numbers[i], list(cells.row(i)), today)
        records.append(record)
        if errs:
            errors.append((row_numbers[i], errs))
    again = pl.DataFrame(records, schema=HOUSEHOLD_SCHEMA, orient="row")
    good = staged.filter(~flagged).cast(HOUSEHOLD_SCHEMA)  # type: ignore[arg-type]
    return pl.concat([good, again]).sort("row_no"), errors


ECONOMICS_STAGE = [
    ("row_no", "integer"),
    ("household_no", "text"),
    ("year", "smallint"),
    ("wage", "numeric(14,2)"),
    ("operating", "numeric(14,2)"),
    ("property", "numeric(14,2)"),
    ("transfer", "numeric(14,2)"),
    ("medical_out_of_pocket", "numeric(14,2)"),
    ("education", "numeric(14,2)"),
    ("disaster_loss", "numeric(14,2)"),
    ("other_rigid", "numeric(14,2)"),
    ("bad", "boolean"),
]
