"""Issue 19.8: a request id that looks like personal data (a run of 11 digits or more) is
replaced by a made one, in the services and in the worker's job lines, and every field of a
log line goes through the same scrubber as its message."""

import logging
import re

from shared import observability, request_context
from shared.logging import FIELDS
from tests.registry.helpers import id_number

PHONE = "13912345678"


async def test_a_request_id_that_looks_like_personal_data_is_replaced(registry, json_log) -> None:
    number = id_number()
    for sent in (PHONE, f"rq-{number}", "order-000012345678901"):
        answer = await registry.get("/healthz", headers={"X-Request-ID": sent})
        made = answer.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made), made
        assert not re.search(r"[0-9]{11}", made)
    kept = await registry.get("/healthz", headers={"X-Request-ID": "rq-2026-12-07-0001"})
    assert kept.headers["X-Request-ID"] == "rq-2026-12-07-0001"
    assert PHONE not in json_log.text
    assert number not in json_log.text


async def test_a_job_enqueued_with_such_an_id_runs_under_a_made_one(json_log) -> None:
    seen = {}

    async def sample_job(ctx) -> None:
        seen["request_id"] = request_context.current_request_id()

    wrapped = observability.observed_job("pii_job", sample_job)
    await wrapped({"job_id": "j-1", "job_try": 1}, **{request_context.JOB_CONTEXT_KWARG: PHONE})
    made = seen["request_id"]
    assert made is not None
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    lines = [line for line in json_log.lines() if line.get("job") == "pii_job"]
    assert len(lines) == 2
    assert all(line["request_id"] == seen["request_id"] for line in lines)
    assert PHONE not in json_log.text


def test_every_field_of_a_line_is_scrubbed(json_log) -> None:
    number = id_number()
    token = request_context.begin(f"rq-{number}", user=PHONE)  # as if set past the checks
    try:
        logging.getLogger("povguard.test").info(
            "looked up a household",
            extra={
                FIELDS: {"query": f"id={number}", "phones": [PHONE], "n": 42, "tel": int(PHONE)}
            },
        )
    finally:
        request_context.end(token)
    [line] = [line for line in json_log.lines() if line["logger"] == "povguard.test"]
    assert line["request_id"] == "rq-[id-number]"
    assert line["user"] == "[phone]"
    assert line["query"] == "id=[id-number]"
    assert line["phones"] == ["[phone]"]
    assert line["n"] == 42
    assert line["tel"] == "[phone]"
    assert number not in json_log.text
    assert PHONE not in json_log.text
