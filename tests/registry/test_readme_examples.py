"""The README's partner examples run as written (issue 21 item 7): each ``curl`` block of
"For partners" is parsed and sent to the registry app in order, with the variables the text
names filled from the answers before it, and answers the status its comment shows."""

import asyncio
import base64
import json
import re
import shlex
import socket
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.conftest import ApiClient, token_for
from tests.registry.accounts import PROVINCE, make_user, redis_cleaned, sign_in

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def partner_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## For partners") : text.index("## Security model")]
    return [block for block in _BLOCK.findall(section) if block.lstrip().startswith("curl")]


def _expected(block: str) -> int:
    """The status the block's comment shows: ``# 201 {...}``, or a bare ``# {...}`` (200)."""
    comment = next((line for line in block.splitlines() if line.startswith("#")), "# 200")
    found = re.match(r"#\s*(\d{3})\b", comment)
    return int(found.group(1)) if found else 200


def _request(block: str, env: dict[str, str]) -> dict[str, Any]:
    """``curl`` arguments as an HTTP request (-X, -H, -d, -u and the URL)."""
    lines = [line.rstrip().removesuffix("\\") for line in block.splitlines()]
    command = " ".join(line for line in lines if not line.startswith("#"))
    for name, value in env.items():
        command = command.replace(f"${name}", value)
    words = shlex.split(command)
    assert words[0] == "curl"
    method, headers, data, url = None, {}, [], ""
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-X", "-H", "-d", "-u"):
            value = words[i + 1]
            i += 2
            if word == "-X":
                method = value
            elif word == "-H":
                key, _, val = value.partition(":")
                headers[key.strip()] = val.strip()
            elif word == "-d":
                data.append(value)
            else:
                headers["Authorization"] = "Basic " + base64.b64encode(value.encode()).decode()
            continue
        url, i = word, i + 1
    path = re.sub(r"^https?://[^/]+", "", url)
    request: dict[str, Any] = {"method": method or ("POST" if data else "GET"), "url": path}
    if headers.get("Content-Type") == "application/json":
        request["json"] = json.loads("".join(data))
    elif data:
        request["data"] = dict(d.split("=", 1) for d in data)
    request["headers"] = headers
    return request


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """partner.example resolves to a public address, as the README's reader's would."""
    real = asyncio.BaseEventLoop.getaddrinfo

    async def getaddrinfo(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "partner.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port or 443))]
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)


async def test_the_partner_examples_run_as_written(
    registry: ApiClient, session: Any, queue: Any, settings: Any, public_dns: None
) -> None:
    async for _ in redis_cleaned(queue, settings):
        await make_user(session, "xingyi.app", Role.county_officer, "522301000000")
        signed_in = (await sign_in(registry, "xingyi.app")).json()
        env = {
            "ADMIN_TOKEN": token_for(settings, Role.province_admin, PROVINCE),
            "REFRESH": signed_in["refresh_token"],
        }
        blocks = partner_examples()
        assert len(blocks) >= 4
        for block in blocks:
            request = _request(block, env)
            answer = await registry.request(**request)
            assert answer.status_code == _expected(block), (block, answer.text)
            body = answer.json() if answer.content else {}
            if "client_secret" in body:
                env["CLIENT_ID"], env["CLIENT_SECRET"] = body["client_id"], body["client_secret"]
            if body.get("token_type") == "bearer" and "scope" in body:
                env["TOKEN"] = body["access_token"]
                me = await registry.get(
                    "/v1/me", headers={"Authorization": f"Bearer {env['TOKEN']}"}
                )
                assert me.status_code == 200, me.text
                assert me.json()["role"] == "department"


async def test_a_wrong_client_secret_in_basic_is_challenged_with_basic(registry: ApiClient) -> None:
    basic = base64.b64encode(b"8f5c1b6e-0000-4000-8000-000000000000:wrong").decode()
    answer = await registry.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    form = await registry.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    )
    assert form.status_code == 401
    assert form.headers["WWW-Authenticate"] == "Bearer"
