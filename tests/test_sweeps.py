"""Sweeps: a dataset of images with object masks across models and inpainters, through `python -m ic sweep`
and the engine, locally and on a local Ray cluster. The dataset is built from the bundled samples, with masks
made here (a centred ellipse on each object-centred photo), plus the bad files a real folder has."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from builders import build_dataset

from ic.errors import ICError
from ic.images import decode_image, encode_png
from ic.sweeps import Engine, Plan, load_folder, load_zip, read_rows, sweep
from ic.sweeps.stats import bootstrap_interval, mcnemar_exact, proportion_interval

from conftest import ROOT, cli_env

MODELS = "tf_efficientnet_lite0,tf_efficientnet_lite1"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("sweep") / "set")


def run_sweep(*args, **env):
    return subprocess.run([sys.executable, "-m", "ic", "sweep", *map(str, args)], cwd=ROOT, env=cli_env(**env),
                          capture_output=True, text=True, timeout=600)


def test_the_command_line_sweeps_skips_bad_files_and_resumes(dataset, tmp_path):
    out = tmp_path / "results.parquet"
    done = run_sweep(dataset, "--models", MODELS, "--inpainters", "telea,blur", "--context", "--out", out, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # the whole of stdout is one document
    assert "sweep:" in done.stderr and "rows" in done.stderr  # progress goes to stderr
    assert document["images"] == 12 and document["out"] == str(out)
    skipped = {entry["file"]: entry["reason"] for entry in document["skipped"]}
    assert set(skipped) == {"broken.jpg", "lonely.png", "wide_mask.png", "notes.txt"}, skipped
    assert "no mask" in skipped["lonely.png"] and "different shape" in skipped["wide_mask.png"]
    assert skipped["broken.jpg"].startswith("The broken.jpg file is truncated or damaged")

    rows = read_rows(out)
    assert len(rows) == 12 * 2 * (2 + 1) == document["rows"]  # images x models x (two inpainters + context)
    assert len((out.with_suffix(".csv")).read_text().strip().splitlines()) == len(rows) + 1
    for row in rows:
        assert 0 <= row["top1_after_prob"] <= 1 and 0 < row["top1_before_prob"] <= 1
        assert row["changed"] == (row["top1_before_index"] != row["top1_after_index"])
        assert row["mode"] == ("context" if row["inpainter"] == "blur" and row["mode"] == "context" else "object")
    coffee = [r for r in rows if r["image"] == "coffee.png" and r["model"] == "tf_efficientnet_lite0"]
    assert {r["top1_before_label"] for r in coffee} == {"espresso"}  # the sample the app opens with
    assert all(r["match_before"] is True and r["expected_label"] == "espresso" for r in coffee)
    assert all(r["expected_label"] is None and r["match_before"] is None for r in rows if r["image"] == "rocket.png")

    summary = {(s["model"], s["inpainter"], s["mode"]): s for s in document["summary"]}
    assert len(summary) == 2 * 3
    for (model, inpainter, mode), entry in summary.items():
        mine = [r for r in rows if (r["model"], r["inpainter"], r["mode"]) == (model, inpainter, mode)]
        assert entry["n"] == 12 and entry["flip_rate"] == pytest.approx(sum(r["changed"] for r in mine) / 12)
        assert entry["flip_ci"][0] <= entry["flip_rate"] <= entry["flip_ci"][1]
        assert entry["mean_drop"] == pytest.approx(np.mean([r["drop"] for r in mine]))
    assert {(p["a"], p["b"], p["inpainter"]) for p in document["paired"]} == \
        {("tf_efficientnet_lite0", "tf_efficientnet_lite1", name) for name in ("telea", "blur")}
    assert all(0 < p["p_value"] <= 1 for p in document["paired"])

    again = run_sweep(dataset, "--models", MODELS, "--inpainters", "telea,blur", "--context", "--out", out, "--json")
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert resumed["computed"] == 0 and resumed["resumed"] == len(rows)  # nothing done twice
    assert resumed["summary"] == document["summary"]

    upside_down = decode_image(dataset / "coffee.png")[::-1].copy()  # a new image: only its rows are computed
    (dataset / "extra.png").write_bytes(encode_png(upside_down))
    (dataset / "masks" / "extra.png").write_bytes((dataset / "masks" / "coffee.png").read_bytes())  # symmetric
    try:
        grown = json.loads(run_sweep(dataset, "--models", MODELS, "--inpainters", "telea,blur", "--context",
                                     "--out", out, "--json").stdout)
    finally:
        (dataset / "extra.png").unlink()
        (dataset / "masks" / "extra.png").unlink()
    assert grown["images"] == 13 and grown["resumed"] == len(rows) and grown["computed"] == 2 * 3
    assert len(read_rows(out)) == len(rows) + 6


def test_the_command_line_refuses_what_it_cannot_sweep(tmp_path, dataset):
    missing = run_sweep(tmp_path / "nothing-here", "--models", "tf_efficientnet_lite0")
    assert missing.returncode == 2 and "not a folder" in missing.stderr
    unknown = run_sweep(dataset, "--models", "no_such_model_at_all", "--inpainters", "telea")
    assert unknown.returncode in (2, 3) and "no_such_model_at_all" in unknown.stderr
    (tmp_path / "bad.parquet").write_text("not parquet")
    bad_out = run_sweep(dataset, "--models", "tf_efficientnet_lite0", "--inpainters", "telea", "--out", tmp_path / "bad.parquet")
    assert bad_out.returncode == 2 and "not a sweep's Parquet file" in bad_out.stderr


def test_a_zip_dataset_is_read_within_the_limits(dataset, tmp_path):
    buffer = tmp_path / "set.zip"
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(dataset.rglob("*")):
            if path.is_file():
                archive.write(path, "set/" + path.relative_to(dataset).as_posix())
    found = load_zip(buffer.read_bytes())
    assert len(found.items) == 12 and {i.label for i in found.items} >= {"espresso", "tabby"}
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("../outside.png", b"x")
    with pytest.raises(ICError, match="outside"):
        load_zip((tmp_path / "evil.zip").read_bytes())
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.png", b"\0" * (200 * 1024 * 1024))
    with pytest.raises(ICError, match="bomb"):
        load_zip((tmp_path / "bomb.zip").read_bytes())
    with pytest.raises(ICError, match="not a ZIP"):
        load_zip(b"plain bytes")


def test_bootstrap_and_mcnemar_give_the_known_answers():
    # McNemar's exact test is a binomial test on the discordant pairs: 0 of 10 -> 2 / 2**10
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 1024)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 1) == mcnemar_exact(1, 3) == pytest.approx(2 * (1 + 4) / 16)
    # a constant outcome has no spread; a fair half has an interval around 0.5 of about +-1.96*sqrt(.25/n)
    assert bootstrap_interval([1] * 40) == (1.0, 1.0)
    low, high = bootstrap_interval([1, 0] * 200)
    assert low == pytest.approx(0.5 - 1.96 * 0.025, abs=0.012) and high == pytest.approx(0.5 + 1.96 * 0.025, abs=0.012)
    assert bootstrap_interval([1, 0, 0] * 20) == bootstrap_interval([1, 0, 0] * 20)  # a fixed seed: repeatable


def test_flip_rates_get_exact_intervals_that_never_collapse_and_mcnemar_matches_the_binomial_tail():
    from math import comb

    # Clopper-Pearson: 6 of 6 is 54-100% (the bootstrap said 100-100%); the lower end is 0.025 ** (1/6)
    low, high = proportion_interval(6, 6)
    assert low == pytest.approx(0.025 ** (1 / 6), abs=1e-4) and high == 1.0
    assert proportion_interval(0, 1) == pytest.approx((0.0, 0.975), abs=1e-6)  # one image: never [x, x]
    assert proportion_interval(1, 1) == pytest.approx((0.025, 1.0), abs=1e-6)
    low, high = proportion_interval(40, 100)
    assert low == pytest.approx(0.3033, abs=1e-3) and high == pytest.approx(0.5028, abs=1e-3)  # tables' values
    # the exact test through scipy equals the binomial tail summed by hand
    for a_only, b_only in ((3, 40), (120, 160), (700, 760)):
        n, k = a_only + b_only, min(a_only, b_only)
        assert mcnemar_exact(a_only, b_only) == pytest.approx(min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n),
                                                              rel=1e-9)
    assert 0 <= mcnemar_exact(9_000, 11_000) < 1e-40  # 20,000 discordant pairs: milliseconds, not minutes


def test_a_sweep_of_six_that_all_flip_reports_an_interval_as_wide_as_six_allow(dataset, tmp_path):
    from ic.sweeps import Plan, summarise

    rows = [{"model": "m", "inpainter": "telea", "mode": "object", "preprocess": "squash", "seed": 0,
             "image_sha": str(i), "changed": True, "drop": 0.5 + i / 100, "flip_share": None} for i in range(6)]
    [entry], _ = summarise(rows, Plan(("m",), ("telea",)))
    assert entry["flipped"] == 6 and entry["flip_rate"] == 1.0 and entry["flip_ci_method"] == "clopper-pearson"
    assert entry["flip_ci"][0] == pytest.approx(0.541, abs=1e-3) and entry["flip_ci"][1] == 1.0
    assert entry["mean_drop_ci"] is None  # six drops: a percentile bootstrap would be falsely narrow
    [twelve], _ = summarise(rows + [{**row, "image_sha": row["image_sha"] + "b", "drop": row["drop"] / 2} for row in rows],
                            Plan(("m",), ("telea",)))
    assert twelve["mean_drop_ci"][0] < twelve["mean_drop"] < twelve["mean_drop_ci"][1]


def test_flip_share_is_the_smallest_removal_that_changes_the_answer(dataset, tmp_path):
    found = load_folder(dataset)
    two = type(found)(items=[i for i in found.items if i.name in ("coffee.png", "chelsea.png")])
    result = sweep(two, Plan(("tf_efficientnet_lite0",), ("telea",), flip=True))
    for row in result.rows:
        assert row["flip_share"] is None or 0 < row["flip_share"] <= 0.5
    assert any(row["flip_share"] is not None for row in result.rows)
    assert result.summary[0]["flip_found"] == sum(r["flip_share"] is not None for r in result.rows)
    for row in result.rows:  # each flip found carries the new top-1's lead over the runner-up
        assert (row["flip_margin"] is None) == (row["flip_share"] is None)
        assert row["flip_margin"] is None or 0 <= row["flip_margin"] <= 1
    margins = [r["flip_margin"] for r in result.rows if r["flip_margin"] is not None]
    assert result.summary[0]["fragile_flips"] == sum(m < 0.05 for m in margins)


def test_ray_gives_the_same_rows_as_local(dataset, tmp_path):
    ray = pytest.importorskip("ray")
    from ic.sweeps import runtime_env

    found = load_folder(dataset)
    plan = Plan(tuple(MODELS.split(",")), ("telea",), context=True)
    local = sweep(found, plan, out=tmp_path / "local.parquet")
    ray.init(num_cpus=2, runtime_env=runtime_env(), include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    try:
        remote = sweep(found, plan, out=tmp_path / "ray.parquet", engine=Engine("ray"))
    finally:
        ray.shutdown()
    key = lambda row: (row["image"], row["model"], row["inpainter"], row["mode"])  # noqa: E731
    a, b = sorted(local.rows, key=key), sorted(remote.rows, key=key)
    assert len(a) == len(b) == 12 * 2 * 2
    for x, y in zip(a, b):
        assert key(x) == key(y) and x["image_sha"] == y["image_sha"]
        assert x["top1_before_index"] == y["top1_before_index"] and x["top1_after_index"] == y["top1_after_index"]
        for name in ("top1_before_prob", "top1_after_prob", "drop"):
            assert abs(x[name] - y[name]) < 1e-4, (key(x), name, x[name], y[name])
    assert remote.summary == local.summary
    assert "startup" in remote.timings


def test_what_the_classifier_sees_is_another_axis_and_resumes(dataset, tmp_path):
    out = tmp_path / "both.parquet"
    done = run_sweep(dataset, "--models", "tf_efficientnet_lite0", "--inpainters", "blur", "--preprocess",
                     "squash,center", "--out", out, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [entry["preprocess"] for entry in document["summary"]] == ["squash", "center"]
    rows = read_rows(out)
    assert {row["preprocess"] for row in rows} == {"squash", "center"} and len(rows) == 2 * document["images"]
    again = json.loads(run_sweep(dataset, "--models", "tf_efficientnet_lite0", "--inpainters", "blur", "--preprocess",
                                 "squash,center", "--out", out, "--json").stdout)
    assert again["computed"] == 0 and again["resumed"] == len(rows)  # each mode's rows found by their key
    refused = run_sweep(dataset, "--models", "tf_efficientnet_lite0", "--preprocess", "squash,crop")
    assert refused.returncode == 2 and "not 'crop'" in refused.stderr
