"""What the villagers' declaration page needs besides HTTP: its template, style and script,
the form's anti-forgery token, the village's name and the form's errors in the catalogue's
words. The rules (limits, what is kept) stay in the declarations service."""

import base64
import hashlib
import hmac
import secrets
import time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pydantic import ValidationError

from shared.errors import validation_message
from shared.i18n import ZH, render, translate
from shared.registry_client import RegistryClient
from shared.settings import Settings

WEB = Path(__file__).parent / "web"
FIELDS = ("name", "id_number", "phone", "reason", "description")
REASONS = (
    ("illness", "生病或受伤，看病花钱多"),
    ("disaster", "自然灾害（洪水、冰雹、山体滑坡等）"),
    ("accident", "意外事故"),
    ("schooling", "孩子上学花钱多"),
    ("income_drop", "收入大幅减少（失业、没活干等）"),
    ("other", "其他困难"),
)
STAGES = {
    "received": ("已受理", "工作人员还没有开始核实，请耐心等待。"),
    "under_review": ("核实中", "工作人员正在核实，可能会打电话或上门了解情况。"),
    "accepted": ("已纳入帮扶", "您家已纳入防止返贫监测帮扶，村里会和您商量帮扶办法。"),
    "not_accepted": ("未纳入", "经核实暂未纳入。如有疑问，可以找村干部或乡镇了解原因。"),
}
# The ID-number messages the server answers (shared/idnumber.py), shown by the page's script
# as the number is typed: the same words before and after submitting.
ID_MESSAGES = {
    "length": "must be 18 characters, got {length}",
    "format": "must be 17 digits followed by a digit or X",
    "date": "birth date {digits} is not a real date",
    "range": "birth date {born} is out of range",
    "check": "check character does not match (expected {expected})",
}
CSRF_COOKIE = "declare_form"
CSRF_MAX_AGE_S = 12 * 3600  # a villager may leave the page open for a while
# The page shows words, not codes: the notices it adds to the catalogue's messages.
EXPIRED = "页面已过期，请检查后再点一次“提交申报”。"
FIX_FIELDS = "请改正下面标红的内容。"
NO_VILLAGE = "找不到这个村。请重新扫描村里张贴的二维码。"


# The CSS and the script are files of their own (web/), set into the page as it is rendered:
# on a slow 3G link every extra request is a round trip (~0.4 s) before the page can be used.
# The CSP allows exactly these two by their hashes, so no other inline code can run.
CSS = (WEB / "declare.css").read_text()
JS = (WEB / "declare.js").read_text()


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


SECURITY_HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; script-src {_sha256(JS)}; "
    f"style-src {_sha256(CSS)}; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@cache
def _template() -> Any:
    env = Environment(
        loader=FileSystemLoader(WEB), autoescape=select_autoescape(["html"]), auto_reload=False
    )
    return env.get_template("declare.html")


def page(view: str, **context: Any) -> str:
    context.setdefault("values", {})
    context.setdefault("errors", {})
    return str(
        _template().render(
            view=view,
            css=Markup(CSS),
            js=Markup(JS),
            reasons=REASONS,
            id_messages={k: translate(v, ZH) for k, v in ID_MESSAGES.items()},
            **context,
        )
    )


# --- The form's anti-forgery token -------------------------------------------------------
# A random value in an HttpOnly, SameSite=Lax cookie, and in the form the value's signature
# (with the village and the time): another site can neither read the cookie nor forge the
# signature, and its POST does not carry a Lax cookie anyway.


def cookie_path(settings: Settings) -> str:
    """The page's path as phones reach it (behind the shipped proxy: /monitoring/declare)."""
    return urlsplit(settings.declaration_page("")).path.rstrip("/") or "/"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def _signature(settings: Settings, nonce: str, village_code: str, issued: int) -> str:
    message = f"declare-form|{nonce}|{village_code}|{issued}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def csrf_token(settings: Settings, nonce: str, village_code: str) -> str:
    issued = int(time.time())
    return f"{issued}.{_signature(settings, nonce, village_code, issued)}"


def csrf_valid(settings: Settings, nonce: str | None, village_code: str, token: str) -> bool:
    issued_text, _, signature = token.partition(".")
    if not nonce or not issued_text.isdigit() or not signature:
        return False
    issued = int(issued_text)
    if not 0 <= time.time() - issued <= CSRF_MAX_AGE_S:
        return False
    expected = _signature(settings, nonce, village_code, issued)
    return hmac.compare_digest(expected, signature)


# --- The village's name ------------------------------------------------------------------
# Names change rarely: kept in this process for ten minutes (an unknown code for one), so a
# crowd scanning one notice board asks the registry once.
_NAMES: dict[str, tuple[str | None, float]] = {}
_NAMES_MAX = 20_000


async def village_name(registry: RegistryClient, code: str) -> str | None:
    """The village's name, None when the registry does not know it. Raises
    ``RegistryUnavailable`` when the registry cannot answer."""
    now = time.monotonic()
    cached = _NAMES.get(code)
    if cached is not None and cached[1] > now:
        return cached[0]
    name = await registry.region_name(code)
    if len(_NAMES) >= _NAMES_MAX:
        _NAMES.clear()
    _NAMES[code] = (name, now + (600 if name is not None else 60))
    return name


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Each refused field's first message, in the API's Chinese words."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ("description",)
        errors.setdefault(str(loc[0]), render(validation_message(error), ZH))
    return errors
