"""Messages people read: Simplified Chinese by default, English on request.

Developers write English source strings (gettext msgids) with named placeholders; the Chinese
catalogue ``shared/locale/zh_Hans/LC_MESSAGES/povguard.po`` (read with Babel) translates them.
A ``Message`` is formatted after translation, so a placeholder may move within the Chinese
sentence, and it carries a stable machine ``code`` (``household.not_found``) that clients
branch on or translate themselves. A Message is also a ``str`` (its English text), so logs,
``str(exc)`` and code that only needs text keep working.

The reader's language comes from ``Accept-Language``: English when the client prefers it to
Chinese, Chinese otherwise (also when the header is absent)."""

from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

ZH, EN = "zh", "en"
DEFAULT_LOCALE = ZH
_LOCALE_DIR = Path(__file__).parent / "locale"
# One catalogue per part of the code (povguard.po for shared/, registry.po, monitoring.po,
# funds.po...): every ``*.po`` in the locale's folder is read.
_CATALOGUE_DIRS = {ZH: _LOCALE_DIR / "zh_Hans" / "LC_MESSAGES"}


class Message(str):
    """An English text that knows its template, parameters and code, to be rendered again in
    the reader's language."""

    template: str
    params: dict[str, Any]
    code: str | None

    def __new__(cls, template: str, code: str | None = None, **params: Any) -> "Message":
        text = super().__new__(cls, _format(template, params, EN))
        text.template, text.params, text.code = template, params, code
        return text

    def render(self, locale: str) -> str:
        if locale == EN:
            return str.__str__(self)
        return _format(translate(self.template, locale), self.params, locale)


def t(template: str, code: str | None = None, **params: Any) -> Message:
    """A message to show a person: ``t("household {id} not found", "household.not_found",
    id=...)``."""
    return Message(template, code, **params)


def render(text: str, locale: str) -> str:
    """Any text in ``locale``: a Message is translated; plain text is looked up as a msgid
    (a fixed English string), and shown as it is when the catalogue does not know it."""
    if isinstance(text, Message):
        return text.render(locale)
    return translate(text, locale)


def translate(msgid: str, locale: str) -> str:
    if locale == EN:
        return msgid
    return _catalogue(locale).get(msgid, msgid)


def catalogue_files(locale: str = ZH) -> list[Path]:
    folder = _CATALOGUE_DIRS.get(locale)
    return sorted(folder.glob("*.po")) if folder is not None else []


@cache
def _catalogue(locale: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    for path in catalogue_files(locale):
        with path.open("rb") as po:
            catalogue = read_po(po, locale="zh_Hans_CN")
        messages.update(
            {str(m.id): str(m.string) for m in catalogue if m.id and m.string and not m.fuzzy}
        )
    return messages


def _format(template: str, params: dict[str, Any], locale: str) -> str:
    if not params:
        return template
    shown = {k: render(v, locale) if isinstance(v, Message) else v for k, v in params.items()}
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):  # a translation with a broken placeholder
        return template


def negotiate(accept_language: str | None) -> str:
    """``zh`` or ``en`` from an ``Accept-Language`` header (RFC 9110 quality values)."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in (ZH, EN) and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE
