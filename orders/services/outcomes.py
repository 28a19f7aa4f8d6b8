"""What each document line amounted to: `created`, `updated` or `unchanged` (see
`orders.services`). The import driver adds them up into an import's counters."""

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

    def update(self, other: Outcomes) -> None:
        """Mark every line of `other` here as well."""
        for line, outcome in other.by_line.items():
            self.mark(line, outcome)
