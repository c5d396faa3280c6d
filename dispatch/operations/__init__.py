"""Operations on a published plan: hotline bookings, absences, new plan versions.

Each works on the plan model (:class:`dispatch.model.Plan`) and the day's work orders as
:class:`dispatch.operations.day.DayOrder` values, and returns a new plan whose KPIs are
recomputed and which the checker accepts (:mod:`dispatch.operations.versions`); persistence
is the caller's business.

- :mod:`dispatch.operations.booking`: today's routes, the offer to a hotline call, the booking.
- :mod:`dispatch.operations.absence`: a caregiver's absence, the station's day re-routed.
- :mod:`dispatch.operations.redispatch`: a refused, unanswered or late order offered to others
  and given to one of them.
- :mod:`dispatch.operations.versions`: a new version, other days' working minutes.
- :mod:`dispatch.operations.weeks`: one week of a plan of several weeks, out and back.
- :mod:`dispatch.operations.engine`: the routing engine's options and warm-up for services.
"""

from __future__ import annotations

from dispatch.operations.engine import SolveParams, warm_up

__all__ = ["SolveParams", "warm_up"]
