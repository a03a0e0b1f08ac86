"""Declared revenue: what a tenant reports it earned in a calendar month.

Pure Python. One report per tenant and period; a second report for the same period is a
correction that becomes the next version, and every version is kept. Amounts are
``Money`` in integer minor units, never negative, in the park's currency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from parkos.errors import FieldViolation, InvalidArgument
from parkos.money import Money

from services.tenants.domain import Tenant, text_violations

EARLIEST_YEAR = 2000
NOTE_MAX = 500
# 10^16 fen = 100 trillion yuan: far above any tenant, far below int64; catches typos.
AMOUNT_MAX_MINOR = 10**16
_PERIOD = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, written ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str, *, now: datetime, field: str = "period") -> Period:
        """The month in ``text``; InvalidArgument naming ``field`` unless it is a month that has begun."""
        match = _PERIOD.fullmatch(text.strip())
        if not match:
            raise InvalidArgument.for_field(field, "must be a month written YYYY-MM" if text else "is required")
        period = cls(int(match.group(1)), int(match.group(2)))
        if not 1 <= period.month <= 12:
            raise InvalidArgument.for_field(field, "month must be 01-12")
        if period.year < EARLIEST_YEAR:
            raise InvalidArgument.for_field(field, f"must not be before {EARLIEST_YEAR}")
        if period > cls(now.year, now.month):
            raise InvalidArgument.for_field(field, "must not be a future month")
        return period

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class RevenueReport:
    """One version of a tenant's declared revenue for a month."""

    report_id: str
    tenant_id: str
    period: Period
    revenue: Money
    version: int
    reported_at: datetime
    reported_by: str
    note: str = ""
    current: bool = True

    @property
    def replaces_version(self) -> int:
        """The version this one corrects, 0 for a first report."""
        return self.version - 1


@dataclass(frozen=True)
class ListingPosition:
    """Where a list of reports stopped: reports are listed by period, then version."""

    period: str
    version: int

    @classmethod
    def of(cls, report: RevenueReport) -> ListingPosition:
        """The position just at ``report``."""
        return cls(str(report.period), report.version)

    @classmethod
    def parse(cls, text: str) -> ListingPosition | None:
        """The position written by ``str``; None for anything else (a cursor of another list)."""
        period, slash, version = text.partition("/")
        if not slash or not _PERIOD.fullmatch(period) or not version.isdigit():
            return None
        return cls(period, int(version))

    def __str__(self) -> str:
        return f"{self.period}/{self.version}"


@dataclass(frozen=True)
class RevenueReported:
    """A tenant declared (or corrected) its revenue for a month."""

    report: RevenueReport
    sub_park_id: str
    sector_id: str


def check_revenue(revenue: Money, *, currency: str, field: str = "revenue") -> list[FieldViolation]:
    """Problems of a declared amount: negative, absurdly large, or not in the park's currency."""
    found = []
    if revenue.currency != currency:
        found.append(FieldViolation(f"{field}.currency", f"must be {currency}, the park's currency"))
    if revenue.is_negative():
        found.append(FieldViolation(f"{field}.amount_minor", "must not be negative"))
    elif revenue.amount_minor > AMOUNT_MAX_MINOR:
        found.append(FieldViolation(f"{field}.amount_minor", f"must be at most {AMOUNT_MAX_MINOR}"))
    return found


def report_revenue(
    tenant: Tenant,
    *,
    period: Period,
    revenue: Money,
    note: str,
    latest_version: int,
    report_id: str,
    currency: str,
    actor: str,
    now: datetime,
) -> tuple[RevenueReport, RevenueReported]:
    """The next version of ``tenant``'s report for ``period`` (``latest_version`` 0: the first)."""
    violations = check_revenue(revenue, currency=currency) + text_violations("note", note, maximum=NOTE_MAX)
    if violations:
        raise InvalidArgument("the revenue report is invalid", violations)
    tenant.ensure_may_report_revenue()
    report = RevenueReport(
        report_id=report_id,
        tenant_id=tenant.tenant_id,
        period=period,
        revenue=revenue,
        version=latest_version + 1,
        reported_at=now,
        reported_by=actor,
        note=note.strip(),
    )
    return report, RevenueReported(report, tenant.sub_park_id, tenant.sector_id)
