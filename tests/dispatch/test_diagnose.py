"""Whether a visit fits a caregiver's day on its own, worked out by hand.

One vehicle: shift 08:00-17:00, a 60-minute break starting 12:00 or later and over by 14:00; the
household is 87 minutes from the station (both ways).
"""

from __future__ import annotations

import numpy as np

from dispatch.diagnose import fits_alone
from dispatch.timeutil import parse_hhmm as hm
from solver.problem import BreakSpec, RoutingProblem, VehicleSpec, VisitSpec

REST = BreakSpec(hm("12:00"), hm("14:00"), 60)


def problem(windows, minutes: int = 90, **vehicle) -> RoutingProblem:
    spec = {"start_location": 0, "end_location": 0, "shift_start": hm("08:00")}
    spec.update(shift_end=hm("17:00"), rest=REST)
    spec.update(vehicle)
    return RoutingProblem(
        matrices=(np.array([[0, 87], [87, 0]], dtype=np.int64),),
        visits=(VisitSpec(location=1, duration=minutes, windows=tuple(windows)),),
        vehicles=(VehicleSpec(**spec),),
    )


def test_the_break_may_be_taken_on_the_ride_out():
    # Start 14:00: leave 11:33, ride, break 12:00-13:00 on the way, arrive 14:00; back 16:57.
    # Neither at the station before leaving (it would end 13:00, leaving 12:33 is needed) nor
    # after coming back (16:57) can hold it, so this visit used to count as fitting nobody's day
    # (no_time_window_fits) although a plan with it passes the checker.
    assert fits_alone(problem([(hm("14:00"), hm("15:20"))]), 0, 0) == hm("14:00")


def test_the_break_before_leaving_or_after_coming_back():
    # 09:40-11:10 out at 08:13, back 12:37: the break fits after coming back.
    assert fits_alone(problem([(hm("09:40"), hm("10:00"))]), 0, 0) == hm("09:40")


def test_what_does_not_fit_alone():
    # Service 11:00-13:30 covers the break's window but for the half hour after it.
    assert fits_alone(problem([(hm("11:00"), hm("11:00"))], minutes=150), 0, 0) is None
    # Back at 17:15, after the shift.
    assert fits_alone(problem([(hm("15:00"), hm("15:30"))], minutes=108), 0, 0) is None
    # The route length bound: 87 + 90 + 87 minutes away.
    assert fits_alone(problem([(hm("09:40"), hm("10:00"))], max_duration=263), 0, 0) is None
    assert fits_alone(problem([(hm("09:40"), hm("10:00"))], max_duration=264), 0, 0) is not None
    # A visit with no load fits any capacity; a daily cap of no visits fits none.
    assert fits_alone(problem([(hm("09:40"), hm("10:00"))], capacity=0), 0, 0) is not None
    assert fits_alone(problem([(hm("09:40"), hm("10:00"))], max_visits=0), 0, 0) is None
