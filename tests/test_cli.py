"""`python -m ic` as scripts use it: one JSON document on stdout, exit codes 0/1/2/3."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ic.images import decode_image, decode_mask

from conftest import ROOT, SAMPLES, cli_env


def run_cli(*args, **env):
    return subprocess.run([sys.executable, "-m", "ic", *map(str, args)], cwd=ROOT, env=cli_env(**env),
                          capture_output=True, text=True, timeout=300)


def test_classify_coffee_json_answers_espresso():
    done = run_cli("classify", "assets/samples/coffee.png", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # the whole of stdout is one document
    assert result["image"] == "assets/samples/coffee.png" and result["model"] == "tf_efficientnet_lite0"
    assert result["top"][0]["label"] == "espresso" and result["top"][0]["prob"] > 0.5
    assert len(result["top"]) == 5 and set(result["top"][0]) == {"index", "label", "prob"}


@pytest.mark.parametrize("method", ["patchmatch", "telea", "ns", "blur", "mean"])
def test_edit_removes_the_tripod_and_touches_nothing_else(method, tmp_path):
    out = tmp_path / f"edited-{method}.png"
    done = run_cli("edit", "assets/samples/camera.png", "--mask", "assets/samples/camera_tripod_mask.png",
                   "--inpainter", method, "--out", out, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["inpainter"] == method and result["image"] == "assets/samples/camera.png"
    assert set(result) >= {"model", "original", "edited", "changes", "top1_changed", "timings_ms"}
    assert set(result["timings_ms"]) >= {"inpaint", "classify"}
    assert all(set(c) >= {"index", "label", "before", "after", "delta"} for c in result["changes"])
    original, edited = decode_image(SAMPLES / "camera.png"), decode_image(out)
    mask = decode_mask(SAMPLES / "camera_tripod_mask.png", original.shape[:2])
    assert np.array_equal(edited[~mask], original[~mask])
    assert np.abs(edited[mask].astype(int) - original[mask]).mean() > 5
    assert result["original"]["top"][0]["label"] == "tripod"


def test_edit_defaults_to_patchmatch_without_lama_weights():
    done = run_cli("edit", "assets/samples/camera.png", "--mask", "assets/samples/camera_tripod_mask.png", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["inpainter"] == "patchmatch"


def test_models_and_inpainters_list_every_choice_with_a_reason():
    models = json.loads(run_cli("models", "--json").stdout)
    assert {"tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"} <= {m["name"] for m in models}
    assert all({"name", "available", "reason"} <= set(m) for m in models)
    methods = {m["name"]: m for m in json.loads(run_cli("inpainters", "--json").stdout)}
    assert set(methods) == {"lama", "patchmatch", "telea", "ns", "blur", "mean"}
    assert methods["lama"]["available"] is False and "big-lama.pt" in methods["lama"]["reason"]
    assert methods["patchmatch"]["default"] is True


@pytest.mark.parametrize("args, code, words", [
    (["classify", "pytest.ini"], 2, "not a picture"),
    (["classify", "assets/samples/missing.png"], 2, "does not exist"),
    (["classify", "assets/samples/coffee.png", "--model", "no_such_net"], 2, "no classifier called"),
    (["classify", "assets/samples/coffee.png", "--top-k", "0"], 2, "at least 1"),
    (["classify", "assets/samples/coffee.png", "--model", "resnet50.a1_in1k"], 3, "models/"),
    (["edit", "assets/samples/camera.png", "--mask", "assets/samples/coffee.png"], 2, "different shape"),
    (["edit", "assets/samples/camera.png", "--mask", "assets/samples/camera_tripod_mask.png",
      "--inpainter", "lama"], 3, "big-lama.pt"),
    (["edit", "assets/samples/camera.png"], 2, "--mask"),
])
def test_bad_input_and_unavailable_resources_exit_with_a_sentence(args, code, words):
    done = run_cli(*args, "--json")
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert words in done.stderr and "Traceback" not in done.stderr


def test_empty_mask_is_reported_as_nothing_to_remove(tmp_path):
    from ic.images import save_image

    save_image(np.zeros((512, 512), bool), tmp_path / "empty.png")
    done = run_cli("edit", "assets/samples/camera.png", "--mask", tmp_path / "empty.png")
    assert done.returncode == 2 and "nothing to remove" in done.stderr


def test_internal_errors_are_one_sentence_unless_debug(monkeypatch, capsys):
    from ic import cli

    def broken(args):
        raise RuntimeError("the flux capacitor\nis gone")

    monkeypatch.setitem(cli.COMMANDS, "models", broken)
    assert cli.main(["models", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "flux capacitor" in captured.err and "Traceback" not in captured.err
    assert cli.main(["models", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_bench_quick_json_is_valid_and_has_the_rows():
    done = run_cli("bench", "--quick", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    names = {row["name"] for row in result["rows"]}
    assert {"classify_single", "inpaint_patchmatch_512", "inpaint_telea_512", "edit_roundtrip_patchmatch_512",
            "edit_roundtrip_telea_512"} <= names
    assert "inpaint_lama_512" not in names  # unavailable methods are left out
    assert result["classify_path"] == "ONNX Runtime"  # a fresh install has the fast path
    single = next(row for row in result["rows"] if row["name"] == "classify_single")
    assert single["baseline_ms"] > 0 and single["speedup"] > 0
    assert result["peak_rss_mb"] >= result["rss_imports_mb"] > 0
    assert {"cpu", "cores", "torch_threads", "versions"} <= set(result["machine"])
