"""The interactive docs work on a machine without internet (a government intranet): every
script, style sheet and image the pages load is served by the service itself."""

import re

import pytest
from fastapi import FastAPI

from shared.settings import Settings
from tests.conftest import ApiClient

_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


def _app(name: str, settings: Settings) -> FastAPI:
    if name == "registry":
        from services.registry.app import create_app
    elif name == "monitoring":
        from services.monitoring.app import create_app
    else:
        from services.funds.app import create_app
    return create_app(settings)


@pytest.mark.parametrize("service", ["registry", "monitoring", "funds"])
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_what_the_service_serves(
    service: str, page: str, settings: Settings
) -> None:
    async with ApiClient(_app(service, settings), settings) as client:
        html = (await client.get(page)).text
        references = [a or b for a, b in _REFERENCE.findall(html)]
        assert references, "the page loads its assets"
        for ref in references:
            assert ref.startswith("/"), f"{page} of {service} loads {ref} from elsewhere"
            assert (await client.get(ref)).status_code == 200, ref
        assert "cdn." not in html
        assert "googleapis" not in html
        assert "validator.swagger.io" not in html
