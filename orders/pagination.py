"""Pages of big, ordered querysets without counting every row.

Django's `Paginator` runs `SELECT COUNT(*)` over the whole filtered queryset on every page: on a
million orders that full scan costs more than the rest of the Orders page together.
`LimitedCountPaginator` reads one row more than a page holds to learn whether there is a next
page, and counts at most `count_limit` rows (`SELECT COUNT(*) FROM (... LIMIT n)`), so a page
says "1,000+ orders" rather than the exact figure. The limit is 1,000 (20 pages), not more,
because the capped count still reads every row it counts: at 10,000 a filter that one order in
15 matches would read 150,000 rows just for the figure. It keeps `Paginator`'s
`?page=N` links and the `Page` attributes the templates use (`number`, `has_next`,
`next_page_number`, ...).

Pages stay offsets, not keyset cursors: the links keep their page numbers, and NULL purchase
dates need no special ordering. A deep page still reads the rows it skips; people reach it one
"Next" at a time or not at all, and the filters are the way to older orders.

The Orders and Processing pages use it; Processing is in the reports app, which may import from
orders (never the other way round).
"""

from __future__ import annotations

import collections.abc
import math
from typing import Any

from django.db.models import QuerySet

COUNT_LIMIT = 1_000
MAX_PAGE_NUMBER = 10**9


class LimitedCountPaginator:
    """Offset pages of an ordered queryset; counts exactly only up to `count_limit` rows.

    Queries per page: the page's rows (plus the queryset's prefetches) and, when there is a
    next page and `count` is read, one count of at most `count_limit` + 1 rows. A page that is
    not full ends the list, so its count is known without a query. A page past the end (a
    stale link) falls back to the last page, as `Paginator.get_page` does; only then, and only
    with more than `count_limit` rows, is every row counted.
    """

    def __init__(
        self, object_list: QuerySet, per_page: int, *, count_limit: int | None = None
    ) -> None:
        if not object_list.ordered:
            # Offset pages of an unordered queryset may repeat or skip rows.
            raise ValueError("LimitedCountPaginator needs an ordered queryset.")
        self.object_list = object_list
        self.per_page = per_page
        self.count_limit = COUNT_LIMIT if count_limit is None else count_limit
        self._count: tuple[int, bool] | None = None  # (count, exact), once known

    @property
    def count(self) -> int:
        """The number of objects when `count_is_exact`, else `count_limit` (there are more)."""
        return self._counted()[0]

    @property
    def count_is_exact(self) -> bool:
        """False when there are more than `count_limit` objects and `count` is the limit."""
        return self._counted()[1]

    @property
    def num_pages(self) -> int | None:
        """The number of pages when the count is exact, else None (unknown, and many)."""
        if not self.count_is_exact:
            return None
        return max(1, math.ceil(self.count / self.per_page))

    def get_page(self, number: Any) -> LimitedCountPage:
        """The page `number` (1-based); page 1 for anything that is not a positive integer, and
        the last page for a number past the end."""
        try:
            # Clamped, so a made-up number cannot overflow the database's OFFSET.
            number = min(max(1, int(number)), MAX_PAGE_NUMBER)
        except (TypeError, ValueError):
            number = 1
        rows, has_next = self._rows(number)
        if not rows and number > 1:
            # Past the end (a stale or made-up link): the last page, as Paginator.get_page
            # does. Finding it counts every row only when there are more than the limit.
            if not self.count_is_exact:
                self._set_count(self.object_list.count(), exact=True)
            number = self.num_pages or 1
            rows, has_next = self._rows(number)
        offset = (number - 1) * self.per_page
        if not has_next:
            self._set_count(offset + len(rows), exact=True)
        elif offset + len(rows) >= self.count_limit:
            self._set_count(self.count_limit, exact=False)
        return LimitedCountPage(rows, number, self, has_next=has_next)

    def _rows(self, number: int) -> tuple[list[Any], bool]:
        offset = (number - 1) * self.per_page
        rows = list(self.object_list[offset : offset + self.per_page + 1])
        return rows[: self.per_page], len(rows) > self.per_page

    def _counted(self) -> tuple[int, bool]:
        if self._count is None:
            counted = self.object_list.order_by().values("pk")[: self.count_limit + 1].count()
            self._count = (min(counted, self.count_limit), counted <= self.count_limit)
        return self._count

    def _set_count(self, count: int, *, exact: bool) -> None:
        self._count = (count, exact)


class LimitedCountPage(collections.abc.Sequence):
    """One page of a `LimitedCountPaginator`: the rows, and where the neighbours are."""

    def __init__(
        self,
        object_list: list[Any],
        number: int,
        paginator: LimitedCountPaginator,
        *,
        has_next: bool,
    ) -> None:
        self.object_list = object_list
        self.number = number
        self.paginator = paginator
        self._has_next = has_next

    def __repr__(self) -> str:
        return f"<Page {self.number}>"

    def __len__(self) -> int:
        return len(self.object_list)

    def __getitem__(self, index: Any) -> Any:
        return self.object_list[index]

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_previous() or self.has_next()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def start_index(self) -> int:
        """The 1-based position of the page's first object (0 on an empty page)."""
        if not self.object_list:
            return 0
        return (self.number - 1) * self.paginator.per_page + 1

    def end_index(self) -> int:
        """The 1-based position of the page's last object."""
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)
