"""Smoke tests of the benchmark suite: every code path runs at tiny sizes.

No timing is asserted here (timings depend on the machine); what is asserted is the
bookkeeping: interleaving and warm-up, the budget accounting of the permutation
benchmark, the ratio rows and their targets, the suite's JSON output, and that the
accuracy figures the benchmarks report are the ones their docstrings promise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as suite  # noqa: E402
from benchmarks import common, exact, permutation  # noqa: E402
from companion.game import permutation_estimate  # noqa: E402
from companion.missing import marginal_game  # noqa: E402


# --------------------------------------------------------------------------- common
def test_interleaved_times_warms_up_and_rotates():
    calls: list[str] = []
    methods = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = common.interleaved_times(methods, runs=5)
    assert calls[:3] == ["a", "b", "c"]  # warm-up, untimed
    rounds = [calls[3 + 3 * r : 6 + 3 * r] for r in range(5)]
    assert [r[0] for r in rounds] == [
        "a",
        "b",
        "c",
        "a",
        "b",
    ]  # a different method leads each round
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert {k: len(v) for k, v in times.items()} == {"a": 5, "b": 5, "c": 5}
    assert all(t >= 0 for ts in times.values() for t in ts)


def test_interleaved_times_rejects_zero_runs():
    with pytest.raises(ValueError, match="runs"):
        common.interleaved_times({"a": lambda: None}, runs=0)


def test_ratio_row_and_table():
    ok = common.ratio_row("exact", "p=4", "time companion / shap", 0.4, 0.5)
    bad = common.ratio_row("exact", "p=4", "time companion / shap", 0.6, 0.5)
    info = common.ratio_row("exact", "p=4", "time", 0.6, None)
    higher = common.ratio_row("x", "c", "speed-up", 2.0, 1.5, smaller_is_better=False)
    assert (ok["met"], bad["met"], info["met"], higher["met"]) == (
        True,
        False,
        None,
        True,
    )
    table = common.markdown_table([ok, bad, info])
    lines = table.splitlines()
    assert len(lines) == 5 and lines[0].startswith("| benchmark |")
    assert "**NO**" in lines[3] and "<= 0.500" in lines[2]


def test_mlp_is_seeded_float64():
    f, g = common.mlp(5, seed=3), common.mlp(5, seed=3)
    X = np.random.default_rng(0).standard_normal((7, 5))
    out = f(X)
    assert out.shape == (7,) and out.dtype == np.float64
    np.testing.assert_array_equal(out, g(X))


def test_peak_memory_runs_in_a_subprocess():
    mem = common.peak_memory("benchmarks.exact", "companion_work", 4)
    assert set(mem) >= {"peak_rss_delta", "tracemalloc_peak"}
    assert mem["peak_rss_delta"] >= 0 and mem["tracemalloc_peak"] > 0


# --------------------------------------------------------------------------- exact
def test_exact_benchmark_small():
    results = exact.run(ps=(4, 5), runs=1, memory=False)
    assert [r["p"] for r in results] == [4, 5]
    for r in results:
        assert r["rows_evaluated"] == 2 ** r["p"] * exact.N_BACKGROUND
        assert r["max_abs_diff"] <= exact.DIFF_MAX and r["base_diff"] <= exact.DIFF_MAX
        assert r["runs"] == 1 and r["companion_median_s"] > 0
    rows = exact.ratios(results)
    assert {r["ratio"] for r in rows} >= {
        "max abs(companion - shap)",
        "time companion / model floor",
    }
    assert all(r["met"] for r in rows if r["ratio"].startswith("max abs"))
    assert "| 4 |" in exact.table(results)


# --------------------------------------------------------------------------- permutation
@pytest.mark.parametrize("budget", [25, 200, 401, 1600])
def test_permutation_budget_accounting(budget):
    p = permutation.P
    used = permutation.shap_evaluations(budget, p)
    assert used <= budget and used % (2 * p + 1) == 0
    m = permutation.companion_orderings(used, p)
    assert m % 2 == 0
    assert (
        permutation.companion_evaluations(m, p)
        <= used
        < permutation.companion_evaluations(m + 2, p)
    )


def test_permutation_estimate_evaluates_what_the_budget_says():
    f, rows, background, _ = permutation.problem(6, n_rows=1)
    counting = permutation.CountingGame(marginal_game(f, rows[0], background))
    permutation_estimate(counting, 10, rng=0, antithetic=True)
    assert counting.evaluated == permutation.companion_evaluations(10, 6) == 2 + 10 * 5


def test_permutation_benchmark_small():
    results = permutation.run(budgets=(50,), n_rows=1, seeds=5)
    (r,) = results
    assert r["evaluations_companion"] <= r["evaluations_shap"] == 50
    assert r["rows_x_seeds"] == 5 and r["runs"] == 5
    assert 0 < r["err_companion"] < 1 and 0 < r["err_shap"] < 1
    rows = permutation.ratios(results)
    assert rows[0]["target"] == permutation.ERROR_RATIO_MAX
    assert "| 12 | 50 |" in permutation.table(results)


# --------------------------------------------------------------------------- the suite
def test_suite_adapters_for_chapter_benchmarks():
    class Kernel:
        ERROR_RATIO_MAX, TIME_RATIO_MAX = 0.8, 0.75

    class Gradient:
        TARGETS = {"captum": 0.2, "plain": 2.0}

    k = suite.summary_rows(
        "kernel", Kernel, [{"p": 12, "B": 200, "err_ratio": 0.5, "time_ratio": 0.9}]
    )
    assert [(r["ratio"], r["met"]) for r in k] == [
        ("median rel. error companion / shap", True),
        ("time companion / shap", False),
    ]
    g = suite.summary_rows(
        "gradient",
        Gradient,
        [
            {
                "rows": 8,
                "method": "companion",
                "companion_over_method": 1.0,
                "rmse_vs_reference": 0.1,
            },
            {
                "rows": 8,
                "method": "captum",
                "companion_over_method": 0.1,
                "rmse_vs_reference": 0.2,
            },
            {
                "rows": 8,
                "method": "plain",
                "companion_over_method": 3.0,
                "rmse_vs_reference": None,
            },
        ],
    )
    assert [(r["ratio"], r["met"]) for r in g] == [
        ("time companion / captum", True),
        ("RMSE companion / captum", None),
        ("time companion / plain", False),
    ]


def test_suite_records_a_missing_benchmark():
    entry = suite.run_one("does_not_exist", quick=True)
    assert entry["error"] == "missing" and entry["ratios"][0]["met"] is None


def test_suite_writes_json_and_exit_status(tmp_path, monkeypatch, capsys):
    fake = {
        "name": "exact",
        "results": [{"p": 4}],
        "error": None,
        "seconds": 0.0,
        "table": "| t |",
        "ratios": [common.ratio_row("exact", "p=4", "time", 2.0, 1.0)],
    }
    monkeypatch.setattr(suite, "run_one", lambda name, quick: dict(fake, name=name))
    out = tmp_path / "bench" / "results.json"
    assert (
        suite.main(["--only", "exact", "--out", str(out)]) == 1
    )  # full run, target missed
    assert (
        suite.main(["--quick", "--only", "exact", "--out", str(out)]) == 0
    )  # quick never fails on targets
    payload = json.loads(out.read_text())
    assert payload["quick"] is True and payload["ratios"][0]["value"] == 2.0
    assert "python" in payload["environment"]
    printed = capsys.readouterr().out
    assert "| benchmark | case | ratio | value | target | met |" in printed


# --------------------------------------------------------------------------- estimators
def test_game_families_have_exact_values():
    """Each family's exact values equal enumeration of its own game (p = 6), and the
    memo counts every coalition asked for."""
    from benchmarks import games
    from companion.game import shapley_values

    for family in games.FAMILIES:
        g = games.make_game(family, 6, 3, 1)
        # shap's tree algorithm differs from enumeration by about 5e-9 (its float32
        # thresholds and summation order); 1e-7 still catches the 1e-6 error below
        np.testing.assert_allclose(shapley_values(g), g.exact, rtol=0, atol=1e-7)
        g.reset()
        g(np.ones((5, 6), bool))
        assert g.evaluated == 5


def _same_in_any_batch(compute, masks) -> bool:
    """``compute`` gives the same bits in one batch, one row at a time, and in chunks."""
    whole = compute(masks)
    one = np.concatenate([compute(m[None]) for m in masks])
    chunks = np.concatenate(
        [compute(masks[a : a + 37]) for a in range(0, len(masks), 37)]
    )
    return np.array_equal(whole, one) and np.array_equal(whole, chunks)


def test_game_values_do_not_depend_on_the_batch():
    """v(S) is the same to the last bit computed in one batch, one by one, or in chunks.

    The memo keeps the first value computed, so otherwise an estimator's answer would
    depend on which method asked for a coalition first, and a rerun of one method
    (``--reuse``) could not reproduce its earlier errors where its fit is
    ill-conditioned (``shap.KernelExplainer`` at ``nsamples = 2p``, p = 20: in one
    measured case a one-ulp change of ``v`` moved an attribution by 13).
    """
    from benchmarks import games

    masks = np.random.default_rng(0).random((120, 12)) < 0.5
    for family in games.FAMILIES:
        game = games.make_game(family, 12, 3, 1)
        assert _same_in_any_batch(game.compute, masks), family


def test_the_batch_check_catches_a_one_ulp_difference():
    """The check above fails when a batch of several rows rounds one ulp differently."""
    masks = np.random.default_rng(0).random((120, 12)) < 0.5
    c = np.random.default_rng(1).standard_normal(12)

    def compute(m):
        values = (m * c).sum(axis=1)
        return np.nextafter(values, np.inf) if len(m) > 1 else values

    assert _same_in_any_batch(lambda m: (m * c).sum(axis=1), masks)
    assert not _same_in_any_batch(compute, masks)


def test_exact_check_catches_a_wrong_reference():
    """The family check above fails on a planted error of 1e-6 in one exact value."""
    from benchmarks import games
    from companion.game import shapley_values

    g = games.make_game("trees", 6, 3, 1)
    wrong = g.exact + np.r_[1e-6, np.zeros(5)]
    assert np.abs(shapley_values(g) - wrong).max() > 1e-7


def test_estimator_benchmark_quick_and_budget_accounting():
    from benchmarks import estimators

    results = estimators.run(quick=True)
    assert len(results) == 4
    for r in results:
        assert r["estimates"] == 2 and "mse_ratio" in r and r["mse_ratio"] > 0
        for name, m in r["methods"].items():
            assert m["coalitions_used"] <= r["B"], (name, r["B"], m["coalitions_used"])
        assert r["methods"]["companion"]["coalitions_used"] == r["B"]
        assert r["methods"]["shap Kernel"]["coalitions_used"] == r["B"]
        assert r["methods"]["companion paired"]["coalitions_used"] == r["B"]
        assert r["paired_mse_ratio"] > 0 and r["paired_time_ratio"] > 0
        assert r["timing"] == estimators.TIMING
    table = estimators.table(results)
    assert table.startswith("| game | p |") and "cells at or below" in table
    rows = estimators.ratios(results)
    assert {row["ratio"].split(" / ")[0] for row in rows} >= {"median MSE companion"}


def test_estimator_benchmark_disqualifies_an_overspending_method(monkeypatch):
    from benchmarks import estimators

    def greedy(game, B, seed):
        game(np.zeros((B + 1, game.p), bool))
        return game.exact

    monkeypatch.setattr(
        estimators,
        "methods",
        lambda slow=False: {"companion": estimators._companion, "greedy": greedy},
    )
    r = estimators.run_cell("linear", 5, 20, rows=1, seeds=1, seed0=7)
    assert r["methods"]["greedy"]["median_mse"] is None
    assert "mse_ratio" not in r


def test_the_games_time_their_own_computing_and_the_estimators_leave_it_out(
    monkeypatch,
):
    """The model's cost is paid by the first method to ask for a coalition; the game
    records it and the benchmark subtracts it, so a slow model does not make the first
    method look slow."""
    import time

    from benchmarks import estimators, games

    def slow(masks):
        time.sleep(0.2)
        return masks.sum(axis=1).astype(float)

    game = games.CountingGame(3, slow, np.ones(3))
    masks = np.eye(3, dtype=bool)
    game(masks)
    assert game.computing >= 0.2
    before = game.computing
    game(masks)  # memoised: nothing computed again
    assert game.computing == before
    game.reset()
    assert game.computing == 0.0

    def first(g, B, seed):  # asks first, so pays the slow model
        g(np.eye(g.p, dtype=bool))
        return g.exact

    def second(g, B, seed):
        g(np.eye(g.p, dtype=bool))
        return g.exact

    monkeypatch.setattr(estimators, "methods",
                        lambda slow=False: {"companion": first, "other": second})
    monkeypatch.setattr(estimators, "make_game",
                        lambda family, p, seed, row: games.CountingGame(p, slow, np.ones(p)))
    monkeypatch.setattr(estimators, "_warm_up", lambda table: None)
    r = estimators.run_cell("linear", 4, 20, rows=1, seeds=1, seed0=0)
    assert r["methods"]["companion"]["ms_per_estimate"] < 100  # not the 200 ms sleep


def test_the_time_goal_summary_finds_each_contradicted_statement():
    """The appendix asserts that the committed results contradict none of its time
    paragraphs' statements; each planted result that would make one false is named."""
    from benchmarks import estimators

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    results = json.loads((path / "estimators_full.json").read_text(encoding="utf-8"))
    summary = estimators.time_goal_summary(results)
    assert summary["contradictions"] == []
    cells = estimators.informative(results)
    assert summary["not_worse"] == sum(c["mse_ratio"] <= 1.0 for c in cells)

    def planted(change):
        copy = json.loads(json.dumps(results))
        for c in copy:
            change(c)
        return estimators.time_goal_summary(copy)["contradictions"]

    def fast(c):
        c["time_ratio"] = 0.5

    def accurate_paired(c):
        c["paired_mse_ratio"] = 0.9

    def slow_paired(c):
        c["paired_time_ratio"] = 0.8

    assert any("default's median time" in w for w in planted(fast))
    assert any("default meets the time goal at" in w for w in planted(fast))
    found = planted(accurate_paired)
    assert any("median error ratio is at most 1" in w for w in found)
    assert any("as many cells" in w for w in found)
    assert any("above the time goal" in w for w in planted(slow_paired))

    def fast_fit(c):  # as fast as shap where it fits, on one cell
        if (c["family"], c["p"], c["B"]) == ("trees", 12, 200):
            c["time_ratio"] = 1.0

    def slow_small(c):  # the largest time ratio on a small cell
        if (c["family"], c["p"], c["B"]) == ("soum", 8, 200):
            c["time_ratio"] = 1e4

    assert any("trees p=12 B=200, where it fits" in w for w in planted(fast_fit))
    assert any("at p=8 B=200, not at the largest" in w for w in planted(slow_small))


def test_the_accuracy_summary_finds_each_contradicted_statement():
    """The appendix asserts that the committed results contradict none of its accuracy
    paragraph's statements; each planted result that would make one false is named."""
    from benchmarks import estimators

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    results = json.loads((path / "estimators_full.json").read_text(encoding="utf-8"))
    summary = estimators.accuracy_summary(results)
    assert summary["contradictions"] == []
    cells = estimators.informative(results)
    assert summary["worst"]["mse_ratio"] == max(c["mse_ratio"] for c in cells)
    assert len(summary["behind"]) == sum(c["mse_ratio"] > 1.0 for c in cells)
    assert len(summary["surely_ahead"]) == sum(
        c["mse_ratio"] <= 1.0 and c["mse_ratio_ci"][1] < 1.0 for c in cells
    )

    def planted(change):
        copy = json.loads(json.dumps(results))
        for c in copy:
            if c["B"] < 2 ** c["p"] and c["family"] != "linear":
                change(c)
        return estimators.accuracy_summary(copy)["contradictions"]

    def found(change, words):
        return any(words in w for w in planted(change))

    def lead_on_mlp(c):  # the largest lead moves to a network
        if (c["family"], c["p"], c["B"]) == ("mlp", 12, 2000):
            c["mse_ratio"] = 0.0

    def best_not_rounding(c):  # the best cell's error 20 times the reference's floor
        if c["family"] == "trees" and c["mse_ratio"] < 1e-6:
            c["methods"]["companion"]["median_mse"] = 20 * summary["floor"]

    def trees_ahead(c):  # no trees cell behind
        if c["family"] == "trees":
            c["mse_ratio"] = min(c["mse_ratio"], 0.99)

    def other_peer(c):  # a trees cell behind, with another peer ahead
        if c["family"] == "trees" and c["mse_ratio"] > 1.0:
            c["best_peer"] = "shapiq SVARM"

    def worst_at_500(c):  # the worst cell at a sampled budget
        if (c["family"], c["p"], c["B"]) == ("trees", 16, 500):
            c["mse_ratio"] = 9.0

    def worst_wins_all(c):  # the companion better on every instance of the worst cell
        if c["B_label"] == "2p+2" and c["mse_ratio"] > 1.5:
            c["methods"]["companion"]["mse"] = [0.0] * c["estimates"]

    def worst_wins_none(c):
        if c["B_label"] == "2p+2" and c["mse_ratio"] > 1.5:
            c["methods"]["companion"]["mse"] = [1e9] * c["estimates"]

    assert found(lead_on_mlp, "the largest lead is on mlp")
    assert found(best_not_rounding, "above the reference's floor")
    assert found(trees_ahead, "behind in no trees cell")
    assert found(other_peer, "is shapiq SVARM")
    assert found(worst_at_500, "furthest behind at B=500")
    assert found(worst_wins_all, "wins on 10 of 10")
    assert found(worst_wins_none, "wins on 0 of 10")

    def network_at_floor(c):  # a network cell at the reference's floor
        if (c["family"], c["p"], c["B"]) == ("mlp", 12, 2000):
            c["methods"]["companion"]["median_mse"] = 0.0

    def worst_seed_dependent(c):  # the worst cell's error moves with the seed
        if c["B_label"] == "2p+2" and c["mse_ratio"] > 1.5:
            c["methods"]["companion"]["mse"][1] *= 1.01

    assert found(network_at_floor, "floor on mlp p=12 B=2000, not on trees")
    assert found(worst_seed_dependent, "depends on the seed")

    def beyond_triples(c):  # a cell measured where the default fits pairs only
        if (c["family"], c["p"], c["B"]) == ("mlp", 20, 200):
            c["p"] = 25

    assert found(beyond_triples, "at p=25 the default fits no triple terms")


def test_the_companions_own_designs_are_not_peers():
    """``design="paired"`` runs beside the default but is never the best peer, even
    where it is the most accurate; its error and time ratios are reported apart."""
    from benchmarks import estimators

    def method(mse, ms):
        return {"median_mse": mse, "mse": [mse] * 4, "ms_per_estimate": ms}

    cell = {
        "seeds": 2,
        "methods": {
            "companion": method(2.0, 10.0),
            "companion paired": method(1.0, 1.0),
            "shap Kernel": method(8.0, 4.0),
            "shapiq SVARM": method(4.0, 3.0),
        },
    }
    out = estimators._summarise(cell)
    assert out["best_peer"] == "shapiq SVARM"
    assert (out["mse_ratio"], out["paired_mse_ratio"]) == (0.5, 0.25)
    assert (out["time_ratio"], out["paired_time_ratio"]) == (2.5, 0.25)
    assert set(estimators.COMPANION) <= set(estimators.methods())
    assert set(estimators.COMPANION) <= set(estimators.RERUN)


def test_estimator_ratio_interval_brackets_the_ratio_and_sees_a_real_gap():
    """The bootstrap interval holds the ratio of medians; equal errors give [1, 1]; a
    method twice as wrong on every estimate has its whole interval at 2."""
    from benchmarks.estimators import ratio_interval

    rng = np.random.default_rng(1)
    theirs = rng.exponential(size=20)
    ours = theirs * rng.lognormal(0.0, 0.5, size=20)
    lo, hi = ratio_interval(ours, theirs)
    assert lo <= np.median(ours) / np.median(theirs) <= hi
    assert ratio_interval(theirs, theirs) == [1.0, 1.0]
    np.testing.assert_allclose(ratio_interval(2 * theirs, theirs), [2.0, 2.0], rtol=1e-12)
    assert ratio_interval(ours, theirs) == [lo, hi]  # a fixed seed: the same interval


def test_ratio_interval_resamples_whole_instances():
    """With ``block`` seeds per instance, the blocks are resampled whole: a gap that
    lives between instances (each instance's estimates equal) is seen as such, and the
    interval is wider than one that treats the 40 estimates as independent. Bad block
    sizes are refused."""
    from benchmarks.estimators import ratio_interval

    rng = np.random.default_rng(2)
    per_instance = rng.lognormal(0.0, 1.0, size=10)
    ours = np.repeat(per_instance, 4)  # four seeds, all equal (as at B = 2p + 2)
    theirs = np.repeat(rng.lognormal(0.0, 1.0, size=10), 4)
    lo4, hi4 = ratio_interval(ours, theirs, block=4)
    lo1, hi1 = ratio_interval(ours, theirs, block=1)
    assert lo4 <= np.median(ours) / np.median(theirs) <= hi4
    assert hi4 - lo4 > hi1 - lo1  # independent estimates would claim too narrow a range
    for bad in (0, 3):
        with pytest.raises(ValueError, match="blocks"):
            ratio_interval(ours, theirs, block=bad)


def _instance_per_row(calls, seed0: int, rows: int) -> bool:
    """Row ``r`` was built from instance ``seed0 + r``, each row once."""
    return sorted(set(calls)) == [(seed0 + r, r) for r in range(rows)]


def test_each_row_of_a_cell_is_its_own_instance(monkeypatch):
    """``run_cell`` explains row ``r`` of instance ``seed0 + r`` (a cell measures the
    family, not one model); the check rejects one instance shared by every row."""
    from benchmarks import estimators, games

    calls = []

    def recording(family, p, seed, row):
        if p == 5:  # the cell's games, not the untimed warm-up game (p = 6)
            calls.append((seed, row))
        return games.make_game(family, p, seed, row)

    monkeypatch.setattr(estimators, "make_game", recording)
    estimators.run_cell("linear", 5, 20, rows=3, seeds=2, seed0=7, only=("companion",))
    assert _instance_per_row(calls, 7, 3)
    assert not _instance_per_row([(7, 0), (7, 1), (7, 2)], 7, 3)


def test_reuse_merges_earlier_peers_and_refuses_what_does_not_match():
    """``--reuse``: a cell rerun with the companion and shap's Kernel explainer only,
    completed from the committed results, gives back the committed cell; a peer whose
    rerun errors differ, or a cell with no earlier match, is refused."""
    from benchmarks import estimators

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    old = json.loads((path / "estimators_full.json").read_text(encoding="utf-8"))
    cell = old[5]
    rerun = {
        **cell,
        "methods": {k: v for k, v in cell["methods"].items() if k in estimators.RERUN},
    }
    merged = estimators.reuse(rerun, old)
    assert merged["mse_ratio"] == cell["mse_ratio"]
    assert merged["best_peer"] == cell["best_peer"]
    assert set(merged["methods"]) == set(cell["methods"])
    assert "shap Kernel" not in merged["reused"] and "companion" not in merged["reused"]
    drifted = json.loads(json.dumps(rerun))
    drifted["methods"]["shap Kernel"]["mse"][0] *= 1.01
    with pytest.raises(ValueError, match="does not reproduce"):
        estimators.reuse(drifted, old)
    with pytest.raises(ValueError, match="no single earlier cell"):
        estimators.reuse({**rerun, "estimates": rerun["estimates"] + 1}, old)
    with pytest.raises(ValueError, match="timed another way"):
        estimators.reuse({**rerun, "timing": "model cost included"}, old)


@pytest.mark.parametrize("module", ["estimators", "kernel"])
def test_benchmark_command_lines_refuse_unknown_options(module, capsys):
    """A typo or --help must not start a quarter-hour run with the default sizes."""
    import importlib

    main = importlib.import_module(f"benchmarks.{module}").main
    with pytest.raises(SystemExit) as help_exit:
        main(["--help"])
    assert help_exit.value.code == 0 and "usage:" in capsys.readouterr().out
    bad = [["--quik"], ["--q"]] + ([["--ps", "16,x"], ["--ps", ""]]
                                   if module == "estimators" else [])
    for argv in bad:
        with pytest.raises(SystemExit) as typo_exit:
            main(argv)
        assert typo_exit.value.code == 2, argv
