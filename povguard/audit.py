"""``povguard audit verify``: walk each service's change-log hash chain (shared.changelog.chain)
and print one line per service; exits 1 when a chain is broken."""

import asyncio
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="The audit trail's integrity (审计核验).", no_args_is_help=True)
console = Console(highlight=False)


async def _verify(services: list[str]) -> tuple[list[str], bool]:
    from shared.changelog import chain
    from shared.db import create_engine, create_session_maker
    from shared.i18n import render
    from shared.settings import get_settings

    engine = create_engine(get_settings(), "povguard-audit")
    lines, broken = [], False
    try:
        async with create_session_maker(engine)() as session:
            for schema in services:
                report = await chain.verify(session, schema)
                if (bad := report.first_bad) is not None:
                    broken = True
                    lines.append(
                        f"{schema}: BROKEN at entry seq {bad.seq} (position {bad.position}, "
                        f"{bad.at.isoformat()}): {render(bad.why, 'en')}"
                    )
                    continue
                head = report.head
                shown = f"head position {head.position} hash {head.hash}" if head else "empty"
                lines.append(f"{schema}: ok, {report.entries} entries, {shown}")
    finally:
        await engine.dispose()
    return lines, broken


@app.command()
def verify(
    service: Annotated[
        list[str] | None,
        typer.Option(help="registry, monitoring or funds (repeat; default: all three)"),
    ] = None,
) -> None:
    """Walk every change log's hash chain; one line per service, exit 1 when one is broken."""
    from shared.changelog.chain import SCHEMAS

    chosen = service or list(SCHEMAS)
    unknown = [s for s in chosen if s not in SCHEMAS]
    if unknown:
        raise typer.BadParameter(f"unknown service {unknown[0]}", param_hint="--service")
    try:
        lines, broken = asyncio.run(_verify(chosen))
    except OSError as exc:
        console.print(f"[red]cannot reach the database:[/red] {exc}")
        raise typer.Exit(2) from None
    for line in lines:
        console.print(line, markup=False)
    if broken:
        raise typer.Exit(1)
