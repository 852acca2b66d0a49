"""`plugin.core.wording`: counts in the sentences the rules, notes and pages say."""

from __future__ import annotations

from plugin.core.wording import agree, all_units, counted, units
from plugin.usecases.cancel_wording import sentence


def test_counts_agree_with_their_number() -> None:
    assert [units(n) for n in (0, 1, 2)] == ["0 units", "1 unit", "2 units"]
    assert [counted(n, "reserved unit") for n in (1, 5)] == ["1 reserved unit", "5 reserved units"]
    assert [all_units(n, ("ships", "ship")) for n in (1, 3)] == [
        "the 1 unit ships",
        "all 3 units ship",
    ]
    assert [all_units(n) for n in (1, 3)] == ["the 1 unit", "all 3 units"]
    assert [agree(n, "goes", "go") for n in (0, 1, 2)] == ["go", "goes", "go"]


def test_a_free_text_reason_ends_as_a_sentence() -> None:
    assert [sentence(t) for t in ("Discontinued", "Too late.", "Why? ", " Now!", "")] == [
        "Discontinued.",
        "Too late.",
        "Why?",
        "Now!",
        "",
    ]
