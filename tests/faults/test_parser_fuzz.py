"""Fault 5a: thousands of generated bodies per payer parser; no crash, no valid body misread."""

from __future__ import annotations

import pytest

from tests.faults import scenario_parser_fuzz

pytestmark = pytest.mark.slow  # thousands of hypothesis cases


def test_the_parsers_read_every_valid_body_and_refuse_junk_only_with_format_errors() -> None:
    examples = scenario_parser_fuzz.fuzz_examples()

    result = scenario_parser_fuzz.run(examples)

    assert (result.lost, result.problems) == (0, [])
    assert result.load == {"parsers": 3, "bodies": 3 * examples}
