"""Estimate the duplicate matcher's m and u probabilities once, on the labelled synthetic set
(``bench/_dedup_data.py``), and write them into ``services/registry/duplicates/model.json``:

    .venv/bin/python -m bench._dedup_train 300000

Every pair the blocking rules produce is compared (Splink, the shipped level conditions); m of
a level is its share among the true duplicates, u its share among different people (both
with a half count added, so no level is certain), and the prior the share of duplicates among
the pairs. The weights are then fixed: a scan or a check at entry never re-estimates them."""

import argparse
import json
from pathlib import Path
from typing import Any

import duckdb

from bench._dedup_data import generate
from services.registry.duplicates import matcher

MODEL_PATH = (
    Path(__file__).resolve().parents[1] / "services" / "registry" / "duplicates" / "model.json"
)


def estimate(members: int, seed: int = 11) -> dict[str, Any]:
    _, people = generate(members, seed=seed)
    pairs = matcher.find_pairs(people, threshold=0.0)
    con = duckdb.connect()
    con.register("pairs", pairs)
    con.register("people", people.select(["member_id", "person_id"]))
    con.execute(
        "CREATE TABLE labelled AS SELECT pairs.*, a.person_id = b.person_id AS duplicate "
        "FROM pairs JOIN people a ON a.member_id = member_a "
        "JOIN people b ON b.member_id = member_b"
    )
    model = json.loads(json.dumps(matcher.MODEL))
    total, dups = con.sql("SELECT count(*), count(*) FILTER (duplicate) FROM labelled").fetchall()[
        0
    ]
    model["probability_two_random_records_match"] = round(dups / total, 6)
    for comparison in model["comparisons"]:
        field = comparison["name"]
        counts = dict(
            ((gamma, dup), n)
            for gamma, dup, n in con.sql(
                f"SELECT gamma_{field}, duplicate, count(*) FROM labelled GROUP BY ALL"
            ).fetchall()
        )
        levels = [lv for lv in comparison["levels"] if not lv.get("null")]
        gammas = [0 if lv["sql"] == "ELSE" else len(levels) - 1 - k for k, lv in enumerate(levels)]
        m_total = sum(counts.get((g, True), 0) for g in gammas) + 0.5 * len(gammas)
        u_total = sum(counts.get((g, False), 0) for g in gammas) + 0.5 * len(gammas)
        for level, gamma in zip(levels, gammas, strict=True):
            level["m"] = round((counts.get((gamma, True), 0) + 0.5) / m_total, 8)
            level["u"] = round((counts.get((gamma, False), 0) + 0.5) / u_total, 8)
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("members", type=int, nargs="?", default=300_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    model = estimate(args.members, args.seed)
    MODEL_PATH.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {"members": args.members, "prior": model["probability_two_random_records_match"]}
        )
    )


if __name__ == "__main__":
    main()
