"""Every message a person can read is in the Chinese catalogue: each error raised
(``NotFound("...")``, ``ValidationFailed.field(f, "...")``, ``t("...")``, ``FieldError(message=...)``)
and each validator's ``ValueError("...")`` names a fixed English msgid that
``shared/locale/zh_Hans/LC_MESSAGES/*.po`` translates. A message built with an f-string or
``%``/``+``/``.format`` cannot be translated (its words change with its values): write it as
``t("... {name} ...", "code", name=value)`` instead. This test keeps the whole class closed."""

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from shared import errors
from shared.i18n import catalogue_files

ROOT = Path(__file__).resolve().parents[2]
CHECKED = [
    "shared",
    "services/registry",
    "services/registry/imports",
    "services/monitoring",
    "services/funds",
]
_ERROR_NAMES = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.AppError)
}


def _catalogue() -> set[str]:
    ids: set[str] = set()
    for path in catalogue_files():
        with path.open("rb") as po:
            ids |= {str(m.id) for m in read_po(po) if m.id and m.string}
    return ids


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """Error classes, also those the services derive from shared.errors."""
    names = set(_ERROR_NAMES)
    changed = True
    while changed:
        changed = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {
                        b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                        for b in node.bases
                    }
                    if bases & names:
                        names.add(node.name)
                        changed = True
    return names


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return f"{owner}.{func.attr}"
    return ""


def _message_argument(node: ast.Call, callee: str, error_classes: set[str]) -> ast.expr | None:
    keywords = {k.arg: k.value for k in node.keywords}
    if callee in error_classes or callee in {"t", "ValueError", "Message"}:
        return node.args[0] if node.args else keywords.get("detail")
    if callee.endswith(".field") and callee.split(".")[0] in error_classes:
        return node.args[1] if len(node.args) > 1 else keywords.get("message")
    if callee == "FieldError":
        return keywords.get("message")
    return None


def _problems(package: str) -> list[str]:
    # A package listed on its own is checked on its own, not again with its parent.
    nested = [ROOT / other for other in CHECKED if other.startswith(package + "/")]
    files = [
        p
        for p in (ROOT / package).rglob("*.py")
        if not any(p.is_relative_to(inner) for inner in nested)
    ]
    trees = [ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in files]
    error_classes = _error_classes(trees)
    known = _catalogue()
    problems = []
    for path, tree in zip(files, trees, strict=True):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = _callee(node)
            argument = _message_argument(node, callee, error_classes)
            if argument is None:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(argument, ast.JoinedStr | ast.BinOp) or (
                isinstance(argument, ast.Call) and _callee(argument).endswith(".format")
            ):
                problems.append(f"{where}: {callee}(...) builds its message from values")
            elif (
                isinstance(argument, ast.Constant)
                and isinstance(argument.value, str)
                and argument.value not in known
            ):
                problems.append(f"{where}: not in the catalogue: {argument.value!r}")
    return problems


@pytest.mark.parametrize("package", CHECKED)
def test_every_message_is_catalogued(package: str) -> None:
    problems = _problems(package)
    assert not problems, f"{len(problems)} messages to fix:\n" + "\n".join(problems)
