"""Options offered to a dispatcher (hotline calls, re-dispatches) as they are stored.

An offer is answered first and confirmed later: the options are kept as JSON between the two
and read back into :class:`dispatch.hotline.InsertionOption` for the booking. Both kinds of
offer store an option's fields the same way; each adds what it checks at confirm time (a
fingerprint of the route, a snapshot of the day) and keys the moved visits its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dispatch.hotline import InsertionOption, Move
from dispatch.model import RouteBreak

__all__ = ["option_from_record", "option_record"]


def option_record(option: InsertionOption, moves: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The stored form of ``option`` with its moved visits already described as ``moves``."""
    return {
        "caregiver": option.caregiver,
        "position": option.position,
        "depart": option.depart,
        "arrival": option.arrival,
        "start": option.start,
        "end": option.end,
        "back": option.back,
        "added_travel": option.added_travel,
        "rest": None if option.rest is None else [option.rest.start, option.rest.end],
        "moves": list(moves),
    }


def option_from_record(
    record: dict[str, Any], move_key: Callable[[dict[str, Any]], str | None]
) -> InsertionOption:
    """The option stored as ``record``; ``move_key`` names each moved visit as the plan the
    option is booked into names it (a move it names ``None`` is left out)."""
    rest = record["rest"]
    moves = []
    for m in record["moves"]:
        key = move_key(m)
        if key is not None:
            moves.append(Move(key, m["start_before"], m["start_after"], m["arrival_after"]))
    return InsertionOption(
        caregiver=record["caregiver"],
        position=record["position"],
        depart=record["depart"],
        arrival=record["arrival"],
        start=record["start"],
        end=record["end"],
        added_travel=record["added_travel"],
        moves=tuple(moves),
        rest=None if rest is None else RouteBreak(rest[0], rest[1]),
        back=record["back"],
    )
