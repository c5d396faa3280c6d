"""Road travel providers against a fake routing server on 127.0.0.1 (tests/fake_router.py).

The fake's rule, by hand: metres = 111,000·|dlat| + 85,000·|dlon| + 30,000·max(0, dlat) (going
north costs more), seconds = metres / speed, with speeds foot/pedestrian 1.25, bike/bicycle 4,
car/auto 8 m/s; minutes = ceil(seconds / 60). OSRM answers seconds to one decimal, Valhalla
whole seconds.
"""

from __future__ import annotations

import json
import math
import socket
import sys
import time
import urllib.error
from typing import Any

import numpy as np
import pytest

from dispatch.roads import (
    OsrmProvider,
    RoadServerError,
    ValhallaLocalProvider,
    ValhallaProvider,
)
from dispatch.travel import Place, TravelProvider
from tests.fake_router import FakeRouter, travel_seconds

S1 = Place("station:S1", 38.48, 106.23)
# 0.005 degrees north of S1: walking there is (555 + 150) / 1.25 = 564 s = 9.4 -> 10 minutes,
# back (555 m) 444 s = 7.4 -> 8 minutes.
H1 = Place("household:H1", 38.485, 106.23)


def district(n: int) -> list[Place]:
    """``n`` places around Yinchuan, all at different coordinates (five decimals)."""
    out = [S1]
    for i in range(1, n):
        lat = round(38.45 + 0.004 * ((i * 7) % 23) + 0.0001 * i, 5)
        lon = round(106.20 + 0.005 * ((i * 11) % 23), 5)
        out.append(Place(f"household:H{i}", lat, lon))
    return out


def expected(
    router: FakeRouter, kind: str, profile: str, places: list[Place], cycling: float | None = None
) -> np.ndarray:
    n = len(places)
    m = np.zeros((n, n), dtype=np.int64)
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                s = router.seconds(kind, profile, (a.lat, a.lon), (b.lat, b.lon), cycling)
                m[i, j] = math.ceil(s / 60)
    return m


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch):
    # A proxy set in the environment must not carry requests to the local server.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeRouter() as r:
        yield r


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- OSRM ------------------------------------------------------------------------------------


def test_osrm_hand_numbers(router: FakeRouter) -> None:
    m = OsrmProvider(router.url).matrix([S1, H1], "walk")
    assert m.tolist() == [[0, 10], [8, 0]]
    assert m.dtype == np.int64


def test_osrm_23_places_in_chunks_of_at_most_10_coordinates(router: FakeRouter) -> None:
    router.osrm_limit = 10
    places = district(23)
    m = OsrmProvider(router.url, max_table_size=10).matrix(places, "walk")
    want = expected(router, "osrm", "foot", places)
    assert (m == want).all()
    assert (np.diagonal(m) == 0).all()
    assert not (m == m.T).all()  # the fake's roads are not symmetric; nothing was transposed
    # Groups of at most 10 // 2 = 5 places: 23 -> 5 groups (5, 5, 5, 4, 4), one request per
    # pair of groups: 5 * 4 / 2 = 10 requests of at most 10 coordinates.
    assert len(router.seen) == 10
    assert all(s.coords <= 10 for s in router.seen)
    assert {s.profile for s in router.seen} == {"foot"}
    assert all(s.query.get("annotations") == ["duration"] for s in router.seen)


def test_osrm_one_request_when_the_table_fits(router: FakeRouter) -> None:
    router.osrm_limit = 10
    places = district(10)
    m = OsrmProvider(router.url, max_table_size=10).matrix(places, "car")
    assert (m == expected(router, "osrm", "car", places)).all()
    assert [s.coords for s in router.seen] == [10]


def test_osrm_places_at_one_point_are_asked_once(router: FakeRouter) -> None:
    router.osrm_limit = 10
    base = district(9)
    twins = [Place(f"household:T{i}", p.lat, p.lon) for i, p in enumerate(base[1:4])]
    places = base + twins  # 12 places, 9 points
    m = OsrmProvider(router.url, max_table_size=10).matrix(places, "walk")
    assert [s.coords for s in router.seen] == [9]
    assert (m == expected(router, "osrm", "foot", places)).all()
    assert m[1, 9] == m[9, 1] == 0  # household:H1 and household:T0 share a door


def test_osrm_each_mode_asks_its_profile(router: FakeRouter) -> None:
    router.speeds["ebike18"] = 5.0
    places = district(6)
    provider = OsrmProvider(router.url, profiles={"ebike": "ebike18"})
    for mode, profile in (("walk", "foot"), ("ebike", "ebike18"), ("car", "car")):
        router.seen.clear()
        m = provider.matrix(places, mode)
        assert {s.profile for s in router.seen} == {profile}
        assert (m == expected(router, "osrm", profile, places)).all()


def test_osrm_one_server_per_mode() -> None:
    with FakeRouter() as walking, FakeRouter() as driving:
        provider = OsrmProvider({"walk": walking.url, "car": driving.url})
        places = district(5)
        assert (provider.matrix(places, "walk") == expected(walking, "osrm", "foot", places)).all()
        assert (provider.matrix(places, "car") == expected(driving, "osrm", "car", places)).all()
        assert [s.profile for s in walking.seen] == ["foot"]
        assert [s.profile for s in driving.seen] == ["car"]
        with pytest.raises(ValueError, match=r"unknown travel mode 'ebike'.*\['car', 'walk'\]"):
            provider.matrix(places, "ebike")
        assert provider.identity("walk")["url"] == walking.url
        assert provider.identity("car")["url"] == driving.url


def test_unknown_mode_names_the_known_ones(router: FakeRouter) -> None:
    with pytest.raises(ValueError, match=r"unknown travel mode 'boat'.*'car', 'ebike', 'walk'"):
        OsrmProvider(router.url).matrix([S1, H1], "boat")
    with pytest.raises(ValueError, match=r"unknown travel mode 'boat'"):
        ValhallaProvider(router.url).matrix([S1, H1], "boat")
    with pytest.raises(ValueError, match=r"unknown travel mode 'car'; known: \['walk'\]"):
        ValhallaProvider({"walk": router.url}).matrix([S1, H1], "car")
    assert router.seen == []


def test_seconds_become_whole_minutes_rounded_up() -> None:
    class Answer:
        status = 200

        def __init__(self, doc: Any) -> None:
            self.raw = json.dumps(doc).encode()

        def read(self) -> bytes:
            return self.raw

        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    asked: list[str] = []

    def opener(request: Any, timeout: float) -> Answer:
        asked.append(request.full_url)
        durations = [[7.0, 60.0, 60.1], [0.4, 3.0, 0.0], [119.9, 120.0, 9.0]]
        return Answer({"code": "Ok", "durations": durations})

    places = [S1, H1, Place("household:H2", 38.49, 106.24)]
    m = OsrmProvider("http://osrm.example:5000", opener=opener).matrix(places, "walk")
    # 60.0 s is one minute, 60.1 s two; 0.4 s one; the server's diagonal is ignored.
    assert m.tolist() == [[0, 1, 2], [1, 0, 0], [2, 2, 0]]
    assert asked == [
        "http://osrm.example:5000/table/v1/foot/"
        "106.230000,38.480000;106.230000,38.485000;106.240000,38.490000?annotations=duration"
    ]


def test_no_places_or_one_place_asks_nothing(router: FakeRouter) -> None:
    provider = OsrmProvider(router.url)
    assert provider.matrix([], "walk").shape == (0, 0)
    assert provider.matrix([S1], "walk").tolist() == [[0]]
    assert router.seen == []


def test_invalid_coordinates_are_refused(router: FakeRouter) -> None:
    with pytest.raises(ValueError, match="household:H9"):
        OsrmProvider(router.url).matrix([S1, Place("household:H9", float("nan"), 106.2)], "walk")
    with pytest.raises(ValueError, match="household:H9"):
        OsrmProvider(router.url).matrix([S1, Place("household:H9", 38.4, 206.2)], "walk")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("status500", r"HTTP 500 Internal Server Error"),
        ("malformed", r"not valid JSON"),
        ("short", r"malformed answer: durations has 9 rows, expected 10"),
        ("code", r"answered code 'NoSegment'.*too far from any road"),
    ],
)
def test_osrm_failures(router: FakeRouter, fault: str, message: str) -> None:
    router.osrm_limit = 10
    router.fault = fault
    places = district(10)
    with pytest.raises(RoadServerError, match=message) as err:
        OsrmProvider(router.url, max_table_size=10).matrix(places, "walk")
    assert f"OSRM {router.url} (profile foot)" in str(err.value)


def test_osrm_failure_in_a_later_chunk_fails_the_whole_call(router: FakeRouter) -> None:
    router.osrm_limit = 10
    router.fault = "status500"
    router.fault_from = 3
    with pytest.raises(RoadServerError, match=r"request 3 of 10: HTTP 500"):
        OsrmProvider(router.url, max_table_size=10).matrix(district(23), "walk")
    assert len(router.seen) == 3  # it stopped at the first failure


def test_osrm_timeout(router: FakeRouter) -> None:
    router.fault = "slow"
    router.delay = 3.0
    began = time.monotonic()
    with pytest.raises(RoadServerError, match=r"\(profile foot\): timed out after 0.2 s"):
        OsrmProvider(router.url, timeout=0.2).matrix([S1, H1], "walk")
    assert time.monotonic() - began < 2.0


def test_connect_timeout() -> None:
    def opener(request: Any, timeout: float) -> Any:
        raise urllib.error.URLError(TimeoutError("timed out"))

    with pytest.raises(RoadServerError, match=r"OSRM http://h:5000 \(profile car\): timed out"):
        OsrmProvider("http://h:5000", opener=opener, timeout=5).matrix([S1, H1], "car")


def test_osrm_table_too_big_for_the_server(router: FakeRouter) -> None:
    router.osrm_limit = 10
    with pytest.raises(RoadServerError, match=r"HTTP 400 Bad Request: TooBig.*--max-table-size"):
        OsrmProvider(router.url, max_table_size=20).matrix(district(15), "walk")


def test_osrm_pair_without_route_names_the_places(router: FakeRouter) -> None:
    router.osrm_limit = 10
    places = district(23)
    h3 = places[3]
    router.null_pairs.add(((h3.lat, h3.lon), (S1.lat, S1.lon)))
    with pytest.raises(RoadServerError, match="no road route from household:H3 to station:S1"):
        OsrmProvider(router.url, max_table_size=10).matrix(places, "walk")


def test_osrm_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(RoadServerError, match=rf"OSRM {url} \(profile car\): cannot reach"):
        OsrmProvider(url, timeout=2).matrix([S1, H1], "car")


def test_url_credentials_and_query_are_sent_but_never_shown(router: FakeRouter) -> None:
    host = router.url.removeprefix("http://")
    provider = OsrmProvider(f"http://ann:pw%21@{host}/?key=SECRET")
    provider.matrix([S1, H1], "walk")
    assert router.seen[0].query["key"] == ["SECRET"]
    assert router.seen[0].headers["Authorization"] == "Basic YW5uOnB3IQ=="  # ann:pw!
    router.fault = "status500"
    with pytest.raises(RoadServerError) as err:
        provider.matrix([S1, H1], "walk")
    shown = [str(err.value), provider.describe(), json.dumps(provider.identity("walk"))]
    assert all("SECRET" not in s and "pw" not in s for s in shown)
    assert router.url in str(err.value)


def test_osrm_identity(router: FakeRouter) -> None:
    provider = OsrmProvider(router.url, dataset="yinchuan-2026-05")
    walk = provider.identity("walk")
    assert walk == {
        "kind": "osrm",
        "url": router.url,
        "profile": "foot",
        "minutes": "ceil(seconds/60)",
        "dataset": "yinchuan-2026-05",
    }
    assert provider.identity("car")["profile"] == "car"
    assert OsrmProvider(router.url + "/").identity("walk")["url"] == router.url
    assert "foot" in provider.describe() and router.url in provider.describe()


def test_osrm_provider_is_a_travel_provider(router: FakeRouter) -> None:
    provider: TravelProvider = OsrmProvider(router.url)
    assert provider.matrix([S1, H1], "walk").tolist() == [[0, 10], [8, 0]]


def test_osrm_options_are_checked() -> None:
    with pytest.raises(ValueError, match="http://"):
        OsrmProvider("localhost:5000")
    with pytest.raises(ValueError, match="max_table_size"):
        OsrmProvider("http://h:5000", max_table_size=1)
    with pytest.raises(ValueError, match="timeout"):
        OsrmProvider("http://h:5000", timeout=0)
    with pytest.raises(ValueError, match=r"profiles\['walk'\]"):
        OsrmProvider("http://h:5000", profiles={"walk": ""})
    with pytest.raises(ValueError, match="no profile for travel mode 'boat'"):
        OsrmProvider({"boat": "http://h:5000"})


# --- Valhalla over HTTP ----------------------------------------------------------------------


@pytest.mark.parametrize("columnar", [False, True])
def test_valhalla_23_places_in_blocks_of_at_most_10_by_10(
    router: FakeRouter, columnar: bool
) -> None:
    router.valhalla_limit = 10
    router.columnar = columnar
    places = district(23)
    m = ValhallaProvider(router.url, max_matrix_locations=10).matrix(places, "walk")
    assert (m == expected(router, "valhalla", "pedestrian", places)).all()
    assert (np.diagonal(m) == 0).all()
    # 23 places -> 3 groups (8, 8, 7); every group's sources by every group's targets: 9.
    assert len(router.seen) == 9
    assert all(s.sources <= 10 and s.targets <= 10 for s in router.seen)
    assert sum(s.sources * s.targets for s in router.seen) == 23 * 23
    assert {s.profile for s in router.seen} == {"pedestrian"}


def test_valhalla_hand_numbers(router: FakeRouter) -> None:
    assert ValhallaProvider(router.url).matrix([S1, H1], "walk").tolist() == [[0, 10], [8, 0]]
    assert router.seen[0].body == {
        "sources": [{"lat": 38.48, "lon": 106.23}, {"lat": 38.485, "lon": 106.23}],
        "targets": [{"lat": 38.48, "lon": 106.23}, {"lat": 38.485, "lon": 106.23}],
        "costing": "pedestrian",
    }


def test_valhalla_costings_and_options_per_mode(router: FakeRouter) -> None:
    places = district(6)
    provider = ValhallaProvider(
        router.url, costing_options={"ebike": {"bicycle": {"cycling_speed": 18}}}
    )
    for mode, costing, cycling in (
        ("walk", "pedestrian", None),
        ("ebike", "bicycle", 18.0),
        ("car", "auto", None),
    ):
        router.seen.clear()
        m = provider.matrix(places, mode)
        assert [s.profile for s in router.seen] == [costing]
        assert (m == expected(router, "valhalla", costing, places, cycling)).all()
    assert "costing_options" not in router.seen[0].body  # the car's request
    # The e-bike's options went with its request, and change its minutes.
    router.seen.clear()
    provider.matrix(places, "ebike")
    assert router.seen[0].body["costing_options"] == {"bicycle": {"cycling_speed": 18}}
    plain = ValhallaProvider(router.url).matrix(places, "ebike")
    assert (plain != provider.matrix(places, "ebike")).any()
    assert provider.identity("ebike")["costing_options"] == {"bicycle": {"cycling_speed": 18}}
    assert "costing_options" not in provider.identity("walk")


def test_valhalla_profiles_override_costings(router: FakeRouter) -> None:
    provider = ValhallaProvider(router.url, profiles={"ebike": "auto"})
    provider.matrix([S1, H1], "ebike")
    assert [s.profile for s in router.seen] == ["auto"]
    assert provider.identity("ebike")["costing"] == "auto"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("status500", r"HTTP 500 Internal Server Error"),
        ("malformed", r"not valid JSON"),
        ("short", r"malformed answer: no entry for source 7"),
    ],
)
def test_valhalla_failures(router: FakeRouter, fault: str, message: str) -> None:
    router.fault = fault
    with pytest.raises(RoadServerError, match=message) as err:
        ValhallaProvider(router.url).matrix(district(8), "car")
    assert f"Valhalla {router.url} (costing auto)" in str(err.value)


def test_valhalla_columnar_short_answer_is_malformed(router: FakeRouter) -> None:
    router.columnar = True
    router.fault = "short"
    with pytest.raises(RoadServerError, match=r"durations has 7 rows, expected 8"):
        ValhallaProvider(router.url).matrix(district(8), "car")


def test_valhalla_timeout(router: FakeRouter) -> None:
    router.fault = "slow"
    router.delay = 3.0
    with pytest.raises(RoadServerError, match=r"\(costing bicycle\): timed out after 0.2 s"):
        ValhallaProvider(router.url, timeout=0.2).matrix([S1, H1], "ebike")


def test_valhalla_too_many_locations_for_the_server(router: FakeRouter) -> None:
    router.valhalla_limit = 10
    with pytest.raises(
        RoadServerError,
        match=r"HTTP 400 Bad Request: 150: Exceeded max loc.*"
        r"max_matrix_location_pairs",
    ):
        ValhallaProvider(router.url, max_matrix_locations=12).matrix(district(12), "walk")


@pytest.mark.parametrize("columnar", [False, True])
def test_valhalla_pair_without_route(router: FakeRouter, columnar: bool) -> None:
    router.columnar = columnar
    router.valhalla_limit = 10
    places = district(23)
    h20 = places[20]
    router.null_pairs.add(((S1.lat, S1.lon), (h20.lat, h20.lon)))
    with pytest.raises(RoadServerError, match="no road route from station:S1 to household:H20"):
        ValhallaProvider(router.url, max_matrix_locations=10).matrix(places, "walk")


def test_valhalla_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(RoadServerError, match=rf"Valhalla {url} \(costing auto\): cannot reach"):
        ValhallaProvider(url, timeout=2).matrix([S1, H1], "car")


# --- Valhalla in this process ----------------------------------------------------------------


class FakeActor:
    """Answers ``matrix(json_text)`` as pyvalhalla's Actor would, by the fake router's rule
    (whole seconds), refusing more than ``limit`` sources or targets."""

    def __init__(self, *, limit: int = 50, as_dict: bool = False) -> None:
        self.limit = limit
        self.as_dict = as_dict
        self.requests: list[dict[str, Any]] = []
        self.fail: Exception | None = None

    def matrix(self, request: str) -> str | dict[str, Any]:
        body = json.loads(request)
        self.requests.append(body)
        if self.fail is not None:
            raise self.fail
        if len(body["sources"]) > self.limit or len(body["targets"]) > self.limit:
            raise RuntimeError("Exceeded max locations")
        speed = {"pedestrian": 1.25, "bicycle": 4.0, "auto": 8.0}[body["costing"]]
        rows = [
            [
                {
                    "from_index": i,
                    "to_index": j,
                    "time": round(
                        travel_seconds((a["lat"], a["lon"]), (b["lat"], b["lon"]), speed)
                    ),
                    "distance": 1.0,
                }
                for j, b in enumerate(body["targets"])
            ]
            for i, a in enumerate(body["sources"])
        ]
        answer = {"sources_to_targets": rows}
        return answer if self.as_dict else json.dumps(answer)


@pytest.mark.parametrize("as_dict", [False, True])
def test_valhalla_local_with_a_given_actor(as_dict: bool) -> None:
    actor = FakeActor(limit=10, as_dict=as_dict)
    places = district(23)
    provider = ValhallaLocalProvider(actor=actor, max_matrix_locations=10)
    m = provider.matrix(places, "car")
    rule = FakeRouter()  # never started: only its seconds() is used
    assert (m == expected(rule, "valhalla", "auto", places)).all()
    assert len(actor.requests) == 9
    assert all(len(r["sources"]) <= 10 and len(r["targets"]) <= 10 for r in actor.requests)
    assert {r["costing"] for r in actor.requests} == {"auto"}


def test_valhalla_local_failure_is_a_road_server_error() -> None:
    actor = FakeActor()
    actor.fail = RuntimeError("No suitable edges near location")
    provider = ValhallaLocalProvider("/data/valhalla.json", actor=actor)
    with pytest.raises(
        RoadServerError,
        match=r"Valhalla local /data/valhalla.json \(costing pedestrian\): No suitable edges",
    ):
        provider.matrix([S1, H1], "walk")


def test_valhalla_local_without_pyvalhalla(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "valhalla", None)  # import valhalla -> ImportError
    with pytest.raises(RoadServerError, match=r"pip install pyvalhalla.*valhalla_build_tiles"):
        ValhallaLocalProvider("/data/valhalla.json")
    with pytest.raises(ValueError, match="configuration file"):
        ValhallaLocalProvider()


def test_valhalla_local_identity_names_the_tiles(tmp_path) -> None:
    tiles = tmp_path / "valhalla_tiles.tar"
    tiles.write_bytes(b"tiles")
    config = tmp_path / "valhalla.json"
    config.write_text(json.dumps({"mjolnir": {"tile_extract": str(tiles)}}))
    provider = ValhallaLocalProvider(
        config, actor=FakeActor(), costing_options={"ebike": {"bicycle": {"cycling_speed": 18}}}
    )
    identity = provider.identity("ebike")
    assert identity["kind"] == "valhalla-local"
    assert identity["tiles"] == str(tiles)
    assert identity["tiles_stamp"][0] == 5
    assert identity["costing"] == "bicycle"
    assert identity["costing_options"] == {"bicycle": {"cycling_speed": 18}}
    tiles.write_bytes(b"rebuilt tiles")
    assert provider.identity("ebike") != identity
    assert str(tiles) in provider.describe()
    from_dict = ValhallaLocalProvider({"mjolnir": {"tile_dir": "/data/tiles"}}, actor=FakeActor())
    assert from_dict.identity("walk")["tiles"] == "/data/tiles"
