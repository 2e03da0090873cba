"""Import reasons as they are stored and read: a rejected row's reason and a failed file's
reason are kept as their message (code, English template, parameters) in JSON, so each reader
sees them in their own language (Chinese by default) long after the import ran. Text stored
by older versions (plain English) is shown as it is, translated when the catalogue knows it.
The Chinese is in ``shared/locale/zh_Hans/LC_MESSAGES/imports.po``."""

import json
from typing import Any

from shared.i18n import Message, render, t

# A stored reason column holds at most this much; parameters quoting the file are cut first.
_PARAM_LIMIT = 80
# ... except the header lists of a file without the required headers (its column names).
_LONG_PARAMS = {"headers": 300, "found": 600}


def encode(text: str, limit: int = 500) -> str:
    """A message as stored text (JSON); plain text as it is."""
    if not isinstance(text, Message):
        return text[:limit]
    params = {
        k: (str(v)[: _LONG_PARAMS.get(k, _PARAM_LIMIT)] if not isinstance(v, int | float) else v)
        for k, v in text.params.items()
    }
    stored = json.dumps(
        {"code": text.code, "template": text.template, "params": params},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return stored if len(stored) <= limit else str(text)[:limit]


# Codes renamed so the import and the API name a fault alike (issue 20): reasons stored under
# the old code read as the new one. The old codes stay documented as aliases for a release.
CODE_ALIASES = {
    "sex.id_number_mismatch": "id_number.sex_mismatch",
    "birth_date.id_number_mismatch": "id_number.birth_date_mismatch",
}


def decode(stored: str | None) -> Message | str | None:
    """The message a stored reason holds (its English text when it is not one)."""
    if not stored or not stored.startswith('{"code"'):
        return stored
    try:
        data: dict[str, Any] = json.loads(stored)
        code = data.get("code")
        code = CODE_ALIASES.get(code, code) if isinstance(code, str) else code
        return t(data["template"], code, **(data.get("params") or {}))
    except (ValueError, KeyError, TypeError):
        return stored


def show(stored: str | None, locale: str) -> str | None:
    """A stored reason in the reader's language."""
    message = decode(stored)
    return None if message is None else render(message, locale)


def code_of(stored: str | None) -> str | None:
    message = decode(stored)
    return message.code if isinstance(message, Message) else None
