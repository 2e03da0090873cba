"""The duplicate matcher (查重): Fellegi-Sunter record linkage with Splink on DuckDB.

Members come in as an Arrow table (read from PostgreSQL by COPY, never row by row), their
names' pinyin is added once per distinct name (``names.py``), and Splink compares every pair
the blocking rules produce on name, ID number, birth date, sex, village, household, phone and
relation with the fixed m/u probabilities of ``model.json``: each pair gets a match
probability and the weight (log2 Bayes factor) each field contributed. The blocking rules
join on equal keys (birth date and surname's sound; the name's sound and the ID number's
first ten or its characters 13-17), so the work grows with the people, not their square, and
any single mistyped or swapped digit of an ID number still lands its pair in one block.

The check at entry (``score``) evaluates the same level conditions in DuckDB over one new
person and a few indexed candidates, and adds up the same weights: no Splink, no training."""

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from services.registry.duplicates.names import with_sounds

MODEL: dict[str, Any] = json.loads(
    resources.files(__package__).joinpath("model.json").read_text(encoding="utf-8")
)
FIELDS: tuple[str, ...] = tuple(c["name"] for c in MODEL["comparisons"])

# What the matcher reads of each member (the scan's COPY and the check at entry alike).
SCHEMA = pa.schema(
    [
        ("member_id", pa.string()),
        ("household_id", pa.string()),
        ("region_code", pa.string()),
        ("name", pa.string()),
        ("id_number", pa.string()),
        ("sex", pa.string()),
        ("birth_date", pa.date32()),
        ("phone", pa.string()),
        ("relation", pa.string()),
    ]
)

# Birth date and sex read from the ID number where the record has none (GB 11643: digits
# 7-14 the birth date, the 17th odd for a man).
_PEOPLE = """
SELECT member_id, household_id, region_code, name, id_number, phone, relation,
       py, py_all, surname_py,
       coalesce(birth_date, try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE) AS birth,
       coalesce(sex, CASE TRY_CAST(substr(id_number, 17, 1) AS INTEGER) % 2
                       WHEN 1 THEN 'male' WHEN 0 THEN 'female' END) AS sex
FROM source
"""


def _levels(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "sql_condition": level["sql"],
            "label_for_charts": level["label"],
            **({"is_null_level": True} if level.get("null") else {}),
            **({"m_probability": level["m"], "u_probability": level["u"]} if "m" in level else {}),
        }
        for level in comparison["levels"]
    ]


def settings(model: dict[str, Any] = MODEL) -> dict[str, Any]:
    """Splink's settings from the model: fixed parameters, nothing estimated at run time."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "member_id",
        "probability_two_random_records_match": model["probability_two_random_records_match"],
        "blocking_rules_to_generate_predictions": model["blocking_rules"],
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
        "comparisons": [
            {"output_column_name": c["name"], "comparison_levels": _levels(c)}
            for c in model["comparisons"]
        ],
    }


def connect(threads: int = 2, memory_limit: str = "1500MB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    return con


@lru_cache(maxsize=1)
def _entry_database() -> duckdb.DuckDBPyConnection:
    """One small in-memory database for the checks at entry, opened once (opening one costs
    ~100 ms); each check works in its own cursor (a connection of its own, temp tables)."""
    return connect(threads=1, memory_limit="256MB")


def find_pairs(
    members: pa.Table,
    *,
    model: dict[str, Any] = MODEL,
    threshold: float | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Every pair of ``members`` (``SCHEMA``) at or over ``threshold`` (the model's by
    default): ``member_a`` < ``member_b``, ``probability``, ``weight`` and per field
    ``gamma_<field>`` (Splink's level: -1 null, 0 disagrees, higher agrees more closely) and
    ``weight_<field>`` (log2 of its Bayes factor)."""
    from splink import DuckDBAPI, Linker

    con = con or connect()
    con.register("source", with_sounds(members.select(SCHEMA.names)))
    con.execute(f"CREATE OR REPLACE TABLE people AS {_PEOPLE}")
    con.unregister("source")
    linker = Linker("people", settings(model), db_api=DuckDBAPI(connection=con))
    cut = model["threshold"] if threshold is None else threshold
    predicted = linker.inference.predict(threshold_match_probability=cut)
    fields = ", ".join(f"gamma_{f}, log2(bf_{f}) AS weight_{f}" for f in FIELDS)
    relation = con.sql(
        f"SELECT member_id_l AS member_a, member_id_r AS member_b, "
        f"match_probability AS probability, match_weight AS weight, {fields} "
        f"FROM {predicted.physical_name} ORDER BY probability DESC"
    )
    return relation.to_arrow_table()


@dataclass(frozen=True)
class Candidate:
    member_id: str
    probability: float
    fields: list[tuple[str, bool, float]]  # (field, agrees, weight)
    of_member_id: str = ""


def _gamma_sql(comparison: dict[str, Any]) -> str:
    """Splink's numbering: the null level -1, ELSE 0, the others counting down to 1."""
    levels = [lv for lv in comparison["levels"] if not lv.get("null") and lv["sql"] != "ELSE"]
    # The null levels come first in each comparison, as Splink evaluates them in order.
    null = " OR ".join(f"({lv['sql']})" for lv in comparison["levels"] if lv.get("null"))
    whens = " ".join(f"WHEN {lv['sql']} THEN {len(levels) - k}" for k, lv in enumerate(levels))
    return f"CASE WHEN {null} THEN -1 {whens} ELSE 0 END AS gamma_{comparison['name']}"


def _bayes_factors(comparison: dict[str, Any]) -> dict[int, float]:
    levels = [lv for lv in comparison["levels"] if not lv.get("null")]
    factors = {-1: 1.0}
    for k, level in enumerate(levels):
        gamma = 0 if level["sql"] == "ELSE" else len(levels) - 1 - k
        factors[gamma] = level["m"] / level["u"]
    return factors


def score(
    person: pa.Table,
    candidates: pa.Table,
    *,
    pairs: pa.Table | None = None,
    model: dict[str, Any] = MODEL,
) -> list[Candidate]:
    """The new ``person`` (``SCHEMA`` rows) against ``candidates`` (``SCHEMA``), every pair
    or only ``pairs`` (``member_l``, ``member_r``), with the scan's level conditions and
    weights; the candidates at or over the model's threshold, most likely first."""
    if candidates.num_rows == 0:
        return []
    con = _entry_database().cursor()
    con.register("source", with_sounds(person.select(SCHEMA.names)))
    con.execute(f"CREATE TEMP TABLE l AS {_PEOPLE}")
    con.register("source", with_sounds(candidates.select(SCHEMA.names)))
    con.execute(f"CREATE TEMP TABLE r AS {_PEOPLE}")
    columns = [c for c in con.table("l").columns]
    pair = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    gammas = ", ".join(_gamma_sql(c) for c in model["comparisons"])
    joined = "l CROSS JOIN r"
    if pairs is not None:
        con.register("pairs", pairs)
        joined = "pairs p JOIN l ON l.member_id = p.member_l JOIN r ON r.member_id = p.member_r"
    rows = con.sql(
        f"SELECT member_id_l, member_id_r, {gammas} FROM (SELECT {pair} FROM {joined} "
        f"WHERE r.member_id <> l.member_id)"
    ).fetchall()
    con.close()
    prior = model["probability_two_random_records_match"]
    factors = [_bayes_factors(c) for c in model["comparisons"]]
    found = []
    for of_member_id, member_id, *gamma in rows:
        weights = [math.log2(f[g]) for f, g in zip(factors, gamma, strict=True)]
        total = math.log2(prior / (1 - prior)) + sum(weights)
        probability = 2**total / (1 + 2**total)
        if probability >= model["threshold"]:
            fields = [(name, w > 0, round(w, 2)) for name, w in zip(FIELDS, weights, strict=True)]
            found.append(Candidate(member_id, probability, fields, of_member_id))
    return sorted(found, key=lambda c: -c.probability)


def empty() -> pa.Table:
    return SCHEMA.empty_table()


def column(table: pa.Table, name: str) -> list[Any]:
    return pc.cast(table.column(name), pa.string()).to_pylist()
