"""``python -m benchmarks``: suite selection, options passed on, exit status."""

from __future__ import annotations

import pytest

import benchmarks.__main__ as bench


def test_solomon_suite_passes_options(monkeypatch, tmp_path):
    seen: list[list[str]] = []

    def fake_main(argv):
        seen.append(list(argv))
        return 0

    monkeypatch.setattr(bench.solomon, "main", fake_main)
    rc = bench.main(
        [
            "--suites",
            "solomon",
            "--time-limit",
            "2",
            "--instances",
            "C101,R101",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    (argv,) = seen
    assert argv[:6] == ["--time-limit", "2.0", "--solver", "ours,pyvrp,vroom", "--seed", "0"]
    assert argv[argv.index("--instances") + 1] == "C101,R101"
    assert argv[argv.index("--csv") + 1] == str(tmp_path / "solomon.csv")
    assert argv[argv.index("--routes-out") + 1] == str(tmp_path / "solomon_routes")


def test_worst_suite_status_is_returned(monkeypatch):
    ran: list[str] = []

    def suite(name, status):
        def run(args):
            ran.append(name)
            return status

        return run

    monkeypatch.setattr(bench, "SUITES", {"a": suite("a", 1), "b": suite("b", 0)})
    assert bench.main([]) == 1
    assert ran == ["a", "b"]
    ran.clear()
    assert bench.main(["--suites", "b"]) == 0
    assert ran == ["b"]


def test_unknown_suite_is_rejected(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--suites", "solomon,nope"])
    assert "nope" in capsys.readouterr().err
