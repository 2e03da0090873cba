"""Database helpers every service uses."""

from shared.db import ordered_uuid


def test_ordered_ids_are_uuid7_and_increase_even_within_a_millisecond() -> None:
    made = [ordered_uuid() for _ in range(5000)]  # thousands within the same milliseconds
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert {u.version for u in made} == {7}
    assert {u.variant for u in made} == {"specified in RFC 4122"}
