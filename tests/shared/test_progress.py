"""Long CLI work shows a progress bar with the count and the rate."""

import io
import re

from rich.console import Console

from shared.progress import progress


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=140, force_terminal=False, color_system=None), out


def test_a_bar_with_a_total_shows_count_rate_and_time() -> None:
    console, out = _console()
    with progress("importing households", total=3000, unit="rows", console=console) as bar:
        for _ in range(3):
            bar.advance(1000)
        assert bar.completed == 3000
    text = out.getvalue()
    assert "importing households" in text
    assert "3000/3000" in text
    assert "rows/s" in text


def test_work_of_unknown_size_shows_the_count_so_far() -> None:
    console, out = _console()
    with progress("replaying the change feed", unit="events", console=console) as bar:
        bar.advance(1234)
        bar.update(2500)
    text = out.getvalue()
    assert "2,500 events" in text
    assert "events/s" in text


def test_work_reported_in_one_step_still_shows_its_rate() -> None:
    # An import's bar is set from counts read back per chunk: often a single jump.
    console, out = _console()
    with progress("importing households", total=5000, unit="rows", console=console) as bar:
        bar.update(5000)
    text = out.getvalue()
    assert "- rows/s" not in text
    assert re.search(r"[\d,]+ rows/s", text), text
