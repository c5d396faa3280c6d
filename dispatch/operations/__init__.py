"""Operations on a published plan: hotline bookings, absences, new plan versions.

Each works on the plan model (:class:`dispatch.model.Plan`) and returns a new plan whose KPIs
are recomputed and which the checker accepts; persistence is the caller's business.
"""

from __future__ import annotations

from dispatch.operations.engine import SolveParams, warm_up

__all__ = ["SolveParams", "warm_up"]
