"""``dispatch geocode``: a scenario's addresses filled in by the file geocoder (no network).

The tiny scenario's station and two households lose their points and keep (or get) an address;
the answers file gives GCJ-02 and WGS-84 points, one of them only to the district.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatch.cli import main
from dispatch.coords import gcj02_to_wgs84, wgs84_to_gcj02
from dispatch.scenario_io import load_scenario
from tests.conftest import fixture_data

STATION = "银川市兴庆区丽景街道"
H1 = "丽景街道 3-2-101"
H3 = "银川市兴庆区丽景街道赵奶奶家"
GCJ_H1 = wgs84_to_gcj02(38.4901, 106.2288)


@pytest.fixture(autouse=True)
def no_geocoder_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPATCH_GEOCODER", "DISPATCH_GEOCODER_KEY", "DISPATCH_GEOCODE_CACHE"):
        monkeypatch.delenv(name, raising=False)


def scenario_file(tmp_path: Path) -> Path:
    """The tiny scenario with S1, H1 and H3 reduced to their addresses."""
    data: dict[str, Any] = fixture_data("tiny_scenario.json")
    station = data["stations"][0]
    h1, h3 = data["households"][0], data["households"][2]
    for item in (station, h1, h3):
        del item["lat"], item["lon"]
    assert (station["address"], h1["address"]) == (STATION, H1)
    h3["address"] = H3
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def answers_file(tmp_path: Path, *, h3_level: str = "门址") -> Path:
    answers = {
        STATION: {"lat": 38.4872, "lon": 106.2309, "confidence": 90, "level": "门址"},
        H1: {"lat": GCJ_H1[0], "lon": GCJ_H1[1], "coord_system": "gcj02", "confidence": 85},
        H3: {"lat": 38.4790, "lon": 106.2270, "confidence": 75, "level": h3_level},
    }
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    return path


def run(tmp_path: Path, *extra: str, answers: Path | None = None) -> tuple[int, Path]:
    out = tmp_path / "out.json"
    geocoder = ["--geocoder", f"file:{answers}"] if answers is not None else []
    cache = ["--cache", str(tmp_path / "cache.sqlite3")]
    code = main(["geocode", str(scenario_file(tmp_path)), "--out", str(out), *geocoder, *cache,
                 *extra])  # fmt: skip
    return code, out


def test_addresses_are_filled_in_wgs84_and_the_scenario_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(tmp_path, answers=answers_file(tmp_path))
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "3 address(es): 3 geocoded, 0 flagged, 0 failed" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    h1 = data["households"][0]
    assert (h1["lat"], h1["lon"]) == pytest.approx(gcj02_to_wgs84(*GCJ_H1), abs=1e-9)
    assert h1["coord_system"] == "wgs84"
    assert (data["stations"][0]["lat"], data["stations"][0]["lon"]) == (38.4872, 106.2309)
    # H2 kept its own GCJ-02 point untouched
    assert data["households"][1]["coord_system"] == "gcj02"
    scenario = load_scenario(out).scenario
    assert scenario.households[0].lat == pytest.approx(38.4901, abs=1e-6)


def test_flagged_points_are_printed_and_written_only_when_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = answers_file(tmp_path, h3_level="区县")
    code, out = run(tmp_path, answers=answers)
    printed = capsys.readouterr().out
    assert code == 1
    assert not out.exists()
    assert f"households[2] (H3) 待确认 / flagged: '{H3}' → 38.479000, 106.227000" in printed
    assert "level 区县" in printed and "只定位到「区县」" in printed
    assert "nothing written" in printed and "--accept-flagged" in printed

    code, out = run(tmp_path, "--accept-flagged", answers=answers)
    assert code == 0
    h3 = json.loads(out.read_text(encoding="utf-8"))["households"][2]
    assert (h3["lat"], h3["lon"]) == (38.4790, 106.2270)


def test_an_address_not_found_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = answers_file(tmp_path)
    data = json.loads(answers.read_text(encoding="utf-8"))
    del data[H1]
    answers.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    code, out = run(tmp_path, "--accept-flagged", answers=answers)
    printed = capsys.readouterr().out
    assert code == 1
    assert not out.exists()
    assert f"households[0] (H1) 失败 / failed: '{H1}': 未找到该地址 / address not found" in printed
    assert "1 failed" in printed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "未配置地址解析服务 / no geocoder: pass --geocoder NAME"),
        (("--geocoder", "google"), "unknown geocoder 'google'"),
        (("--geocoder", "baidu"), "baidu needs an API key"),
        (("--geocoder", "file:missing.json"), "missing.json"),
    ],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: tuple[str, ...], message: str
) -> None:
    code, out = run(tmp_path, *arguments)
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_broken_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"households": {"H1": 1}}', encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["geocode", str(broken), "--out", str(out), "--geocoder", "nominatim"]) == 2
    assert "households: expected a list" in capsys.readouterr().err
    broken.write_text("{not json", encoding="utf-8")
    assert main(["geocode", str(broken), "--out", str(out)]) == 2
    assert not out.exists()


def test_the_geocoder_and_cache_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "env-cache.sqlite3"
    monkeypatch.setenv("DISPATCH_GEOCODER", f"file:{answers_file(tmp_path)}")
    monkeypatch.setenv("DISPATCH_GEOCODE_CACHE", str(cache))
    out = tmp_path / "out.json"
    assert main(["geocode", str(scenario_file(tmp_path)), "--out", str(out)]) == 0
    assert out.exists() and cache.exists()
