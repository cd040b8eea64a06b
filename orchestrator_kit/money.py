"""How dollars are shown. The bottom of the package: imports nothing of ours."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["format_usd"]


def format_usd(d: Decimal | None) -> str:
    """``$12.00`` from a dollar up, ``$0.0123`` below it, two significant figures below $0.0001;
    ``unknown`` for None."""
    if d is None:
        return "unknown"
    sign = "-" if d < 0 else ""
    a = abs(d)
    if a >= 1:
        return f"{sign}${a.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    if a == 0:
        return "$0.00"
    q = a.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if q == 0:  # too small for 4 decimals: keep two significant figures
        exp = a.adjusted() - 1
        q = a.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP)
    return f"{sign}${q:f}"
