"""The one business failure of the domain: a command the episode refuses."""

from __future__ import annotations


class Rejected(Exception):
    """A command that the episode's state or the rules do not allow; nothing changed.

    `code` is stable for machines (`invalid_state`, `invalid_input`, `not_found`, …);
    `problems` lists every problem found, each a sentence a person can act on.
    """

    def __init__(self, code: str, problems: list[str] | str) -> None:
        self.code = code
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))
