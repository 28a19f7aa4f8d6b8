"""Per-line outcomes of a write: what each document line amounted to."""

from __future__ import annotations

from dataclasses import dataclass, field

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
_RANK = {UNCHANGED: 0, UPDATED: 1, CREATED: 2}


@dataclass
class Outcomes:
    """Per-line outcomes of one batch; a line keeps the strongest outcome it was given."""

    by_line: dict[int, str] = field(default_factory=dict)

    def mark(self, line: int, outcome: str) -> None:
        current = self.by_line.get(line)
        if current is None or _RANK[outcome] > _RANK[current]:
            self.by_line[line] = outcome
