"""Production hardening of ``synth render`` (issue 12): containment of per-sample failures,
signals, write errors, validate-first, asset checks, and labels that say what made the pixels.

Uses the raster backend (pyrender, 64 px) so that whole jobs run in seconds; the Blender-only
parts (device check, the magenta guard, the filmic pipeline) are marked ``blender``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli import cli
from synth.dataset.layout import read_manifest
from synth.dataset.validate import validate_dataset
from synth.render.job import FAILURES_FILE

REPO = Path(__file__).resolve().parents[2]
RASTER = ["render", "--renderer", "raster", "--resolution", "64", "--seed", "3"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def _lines(root: Path) -> int:
    p = root / "manifest.jsonl"
    return p.read_bytes().count(b"\n") if p.exists() else 0


def _invoke(*args: str):  # noqa: ANN202 - click Result
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# ---- validate first, write second --------------------------------------------------------------
def test_count_zero_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "d"
    res = CliRunner().invoke(cli, [*RASTER, "--out", str(out), "--count", "0"])
    assert res.exit_code != 0 and "--count must be >= 1" in res.output
    assert not out.exists()


def _bad_hdri_dir(tmp_path: Path) -> Path:
    d = tmp_path / "hdri"
    d.mkdir()
    (d / "broken.exr").write_bytes(b"\x76\x2f\x31\x01" + bytes(range(256)) * 4)  # EXR magic, then garbage
    return d


def test_bad_hdri_is_a_one_line_error_naming_it_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "d"
    res = CliRunner().invoke(cli, [*RASTER, "--out", str(out), "--count", "2", "--hdri-dir", str(_bad_hdri_dir(tmp_path))])
    assert res.exit_code == 1
    assert "broken.exr" in res.output and "--skip-bad-assets" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not out.exists()


def test_skip_bad_assets_warns_counts_and_never_draws_them(tmp_path: Path) -> None:
    out = tmp_path / "d"
    bad = _bad_hdri_dir(tmp_path)
    res = _invoke(*RASTER, "--out", str(out), "--count", "2", "--hdri-dir", str(bad), "--skip-bad-assets")
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["skipped_assets"]["count"] == 1
    assert meta["skipped_assets"]["files"] == [str(bad / "broken.exr")]
    assert meta["config"]["lighting"]["exclude_files"] == [str(bad / "broken.exr")]
    # The planner never draws it (many samples, HDRI environments only).
    from synth.config import JobConfig, apply_overrides
    from synth.render.job import load_rigs
    from synth.scene.plan import plan_sample

    cfg = apply_overrides(JobConfig(), [f"lighting.hdri_dirs=[{bad}]", f"lighting.exclude_files=[{bad / 'broken.exr'}]",
                                        "lighting.sky=0", "lighting.studio=0"])
    rigs = load_rigs(cfg)
    drawn = {plan_sample(cfg, i, rigs).lighting.sample.env.hdri for i in range(40)}
    assert drawn and str(bad / "broken.exr") not in drawn


def test_a_good_asset_decodes() -> None:
    from synth.config import JobConfig
    from synth.render.assets import decode_problem, job_asset_files

    files = job_asset_files(JobConfig())
    assert files, "the bundled HDRIs are missing"
    assert all(decode_problem(p) is None for p in files)


@pytest.mark.blender
def test_gpu_without_a_gpu_fails_before_writing(tmp_path: Path) -> None:
    pytest.importorskip("bpy")

    out = tmp_path / "d"
    res = subprocess.run([sys.executable, "-m", "synth.cli", "render", "--out", str(out), "--count", "1",
                          "--resolution", "64", "--device", "gpu"], env=_env(), capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    if res.returncode == 0:
        pytest.skip("this machine has a GPU that Cycles can use")
    assert "--device gpu" in res.stderr and "Traceback" not in res.stderr
    assert not (out / "dataset.json").exists() and not (out / "manifest.jsonl").exists()


# ---- containment -------------------------------------------------------------------------------
def test_a_failing_sample_is_recorded_the_rest_rendered_and_a_rerun_retries_it(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from synth.render.assets import AssetError
    from synth.render.raster import RasterRenderer

    real = RasterRenderer.render

    def flaky(self, spec, vertices):  # noqa: ANN001, ANN202
        if spec.sample_id == 2:
            raise RuntimeError("Cycles: simulated device error\nsecond line")
        if spec.sample_id == 4:
            raise AssetError("asset /x/y.exr: Blender cannot decode the image")
        return real(self, spec, vertices)

    out = tmp_path / "d"
    monkeypatch.setattr(RasterRenderer, "render", flaky)
    res = CliRunner().invoke(cli, [*RASTER, "--out", str(out), "--count", "6"])
    assert res.exit_code == 1
    assert "samples 2, 4 failed" in res.output and FAILURES_FILE in res.output
    assert sorted(read_manifest(out)) == [0, 1, 3, 5]
    recs = [json.loads(x) for x in (out / FAILURES_FILE).read_text().splitlines()]
    assert [r["id"] for r in recs] == [2, 4]
    assert recs[0]["reason"] == "RuntimeError: Cycles: simulated device error"
    assert "y.exr" in recs[1]["reason"]
    # The complete samples are clean, but the dataset is not: validate names the failed ids.
    rep = validate_dataset(out)
    assert rep.n_ok == rep.n_checked == 4 and rep.failed_ids == [2, 4]
    assert rep.errors == [f"{FAILURES_FILE}: 2 sample(s) failed to render (ids 2, 4; first reason: RuntimeError: "
                          "Cycles: simulated device error); the dataset is incomplete, re-run the job to retry them"]
    res = _invoke("validate", str(out))
    assert res.exit_code == 1 and rep.errors[0] in res.output.splitlines()
    monkeypatch.setattr(RasterRenderer, "render", real)
    res = _invoke(*RASTER, "--out", str(out), "--count", "6")
    assert res.exit_code == 0, res.output
    assert sorted(read_manifest(out)) == list(range(6))
    assert not (out / FAILURES_FILE).exists()
    assert validate_dataset(out).ok
    # Sample 2 is still sample 2 (a pure function of seed and id), not another one.
    ref = tmp_path / "ref"
    assert _invoke(*RASTER, "--out", str(ref), "--count", "1", "--start", "2").exit_code == 0
    a = json.loads((out / "labels/00000002.json").read_text())
    b = json.loads((ref / "labels/00000002.json").read_text())
    assert a == b


def test_a_non_finite_label_is_contained_and_named(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import synth.render.job as job

    real = job.build_label

    def nan_label(spec, *a, **k):  # noqa: ANN001, ANN202
        label = real(spec, *a, **k)
        if spec.sample_id == 1:
            label["objects"] = [{"room_m": float("inf")}]
        return label

    monkeypatch.setattr(job, "build_label", nan_label)
    out = tmp_path / "d"
    res = CliRunner().invoke(cli, [*RASTER, "--out", str(out), "--count", "3"])
    assert res.exit_code == 1
    assert sorted(read_manifest(out)) == [0, 2]
    rec = json.loads((out / FAILURES_FILE).read_text())
    assert rec == {"id": 1, "reason": "LabelError: label.objects[0].room_m is inf"}


# ---- write errors ------------------------------------------------------------------------------
def _limit_file_size() -> None:
    """In the child: files larger than 12 kB fail with EFBIG, as on a full disk (the 128 px rgb
    PNG is larger; dataset.json is smaller; EXR passes are left out because OpenCV encodes them
    through a temporary file of its own)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, 12_000))


def test_a_write_error_is_one_line_naming_the_path_with_no_temporary_left(tmp_path: Path) -> None:
    out = tmp_path / "d"
    res = subprocess.run([sys.executable, "-m", "synth.cli", *RASTER[:4], "128", "--seed", "3", "--out", str(out),
                          "--count", "4", "--set", "output.passes=[rgb,parts]"], env=_env(), capture_output=True, text=True,
                         timeout=300, preexec_fn=_limit_file_size)  # fmt: skip
    assert res.returncode == 1, res.stderr
    err = [ln for ln in res.stderr.strip().splitlines() if ln.startswith("Error")]
    assert len(err) == 1 and "Traceback" not in res.stderr, res.stderr
    assert str(out) in err[0] and "too large" in err[0].lower(), err[0]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]
    # the re-run (no limit) completes and validates
    res = subprocess.run([sys.executable, "-m", "synth.cli", *RASTER[:4], "128", "--seed", "3", "--out", str(out),
                          "--count", "4", "--set", "output.passes=[rgb,parts]"], env=_env(), capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert validate_dataset(out).ok


# ---- signals -----------------------------------------------------------------------------------
def _interrupt(out: Path, sigs: list[int], extra: tuple[str, ...] = (), after: int = 3,
               base: tuple[str, ...] = tuple(RASTER)) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "synth.cli", *base, "--out", str(out), "--count", "2000", *extra]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while _lines(out) < after and proc.poll() is None and time.monotonic() - t0 < 240:
        time.sleep(0.02)
    assert proc.poll() is None, "the job ended before the signal"
    for s in sigs:
        proc.send_signal(s)
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=240)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _only_complete_samples(out: Path) -> int:
    n = len(read_manifest(out))
    labels = sorted(p.name for p in (out / "labels").glob("*.json"))
    assert len(labels) == n
    rep = validate_dataset(out)
    assert rep.ok, rep.errors
    return n


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_after_the_current_sample(tmp_path: Path, sig: int, code: int) -> None:
    out = tmp_path / "d"
    res = _interrupt(out, [sig])
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr and "KeyboardInterrupt" not in res.stderr
    summary = [ln for ln in res.stderr.splitlines() if "stopped" in ln]
    assert len(summary) == 1 and signal.Signals(sig).name in summary[0]
    n = _only_complete_samples(out)
    assert 3 <= n < 2000
    assert not (out / FAILURES_FILE).exists()


def test_a_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    out = tmp_path / "d"
    res = _interrupt(out, [signal.SIGINT, signal.SIGINT])
    assert res.returncode == 130, res.stderr
    assert "Traceback" not in res.stderr
    _only_complete_samples(out)


@pytest.mark.blender
@pytest.mark.slow
def test_ctrl_c_during_cycles_rendering(tmp_path: Path) -> None:
    """The real thing: Cycles renders when SIGINT arrives; no KeyboardInterrupt traceback."""
    pytest.importorskip("bpy")
    out = tmp_path / "d"
    res = _interrupt(out, [signal.SIGINT], after=1,
                     base=("render", "--resolution", "64", "--preset", "draft", "--seed", "3"))
    assert res.returncode == 130, res.stderr
    assert "Traceback" not in res.stderr and "KeyboardInterrupt" not in res.stderr
    _only_complete_samples(out)


# ---- labels say what made the pixels -----------------------------------------------------------
def test_dataset_json_label_schema_version_is_the_label_schema(tmp_path: Path) -> None:
    from synth.hand.keypoints import SCHEMA_VERSION
    from synth.labels.sample import LABEL_SCHEMA_VERSION

    out = tmp_path / "d"
    assert _invoke(*RASTER, "--out", str(out), "--count", "1").exit_code == 0
    meta = json.loads((out / "dataset.json").read_text())
    label = json.loads((out / "labels/00000000.json").read_text())
    assert meta["label_schema_version"] == label["schema_version"] == LABEL_SCHEMA_VERSION == 2
    assert meta["keypoint_schema_version"] == label["keypoint_schema_version"] == SCHEMA_VERSION
    r = label["render"]
    assert r["view_transform"] == "Standard (sRGB)" and r["tone_mapping"] == "none" and r["exposure_stops"] == 0.0


@pytest.mark.blender
def test_blender_labels_record_the_filmic_curve_and_exposure_as_applied(tmp_path: Path) -> None:
    pytest.importorskip("bpy")
    from synth.render.types import FILMIC_VIEW_TRANSFORM

    out = tmp_path / "d"
    res = subprocess.run([sys.executable, "-m", "synth.cli", "render", "--out", str(out), "--count", "1",
                          "--resolution", "64", "--preset", "draft", "--set", "render.exposure=0.5"],
                         env=_env(), capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr
    label = json.loads((out / "labels/00000000.json").read_text())
    r, a = label["render"], label["attributes"]
    assert r["view_transform"] == FILMIC_VIEW_TRANSFORM
    assert "0.6" in r["tone_mapping"]
    # the exposure applied is the configured one plus the auto exposure measured on the hand
    assert r["exposure_stops"] == pytest.approx(0.5 + a["auto_exposure_stops"], abs=1e-3)
    assert np.isfinite(r["exposure_stops"])


def test_a_failing_sample_in_a_shard_is_recorded_and_the_shard_goes_on(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from synth.render.raster import RasterRenderer

    real = RasterRenderer.render

    def flaky(self, spec, vertices):  # noqa: ANN001, ANN202
        if spec.sample_id == 1:
            raise RuntimeError("simulated Blender error")
        return real(self, spec, vertices)

    monkeypatch.setattr(RasterRenderer, "render", flaky)
    out = tmp_path / "d"
    res = CliRunner().invoke(cli, [*RASTER, "--out", str(out), "--count", "4", "--shard", "0/1"])
    assert res.exit_code == 1 and "1 sample(s) failed (1)" in res.output
    assert sorted(read_manifest(out)) == [0, 2, 3]
    assert json.loads((out / FAILURES_FILE).read_text()) == {"id": 1, "reason": "RuntimeError: simulated Blender error"}


@pytest.mark.blender
def test_an_image_broken_mid_job_never_renders_as_magenta(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """A background image that passed the start-of-job check (here: the check is bypassed) but
    that Blender cannot decode fails its samples (failures.jsonl) instead of rendering magenta."""
    pytest.importorskip("bpy")
    import synth.render.job as job
    from synth.render.assets import AssetReport

    bg = tmp_path / "bg"
    bg.mkdir()
    (bg / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    monkeypatch.setattr("synth.render.assets.check_assets", lambda cfg, skip_bad=False: AssetReport())
    assert job.preflight  # the job imports check_assets at call time: the bypass applies
    weights = [f"lighting.bg_{k}=0" for k in ("environment", "solid", "gradient", "noise", "bokeh")]
    out = tmp_path / "d"
    res = CliRunner().invoke(cli, ["render", "--out", str(out), "--count", "2", "--resolution", "32", "--samples", "1",
                                   "--background-dir", str(bg), "--set", "lighting.bg_image=1",
                                   *(a for kv in weights for a in ("--set", kv))])  # fmt: skip
    assert res.exit_code == 1, res.output
    assert read_manifest(out) == {}
    recs = [json.loads(x) for x in (out / FAILURES_FILE).read_text().splitlines()]
    assert [r["id"] for r in recs] == [0, 1]
    assert all("broken.png" in r["reason"] and "cannot decode" in r["reason"] for r in recs), recs


def test_resume_into_a_dataset_made_before_a_config_field_existed(tmp_path: Path) -> None:
    """dataset.json of an older synth lacks newer config fields; resuming with those fields at
    their defaults is the same job (complete samples kept), a non-default value is refused."""
    out = tmp_path / "d"
    assert _invoke(*RASTER, "--out", str(out), "--count", "2").exit_code == 0
    meta = json.loads((out / "dataset.json").read_text())
    del meta["config"]["hand"]["gesture_weights"], meta["config"]["lighting"]["exclude_files"]
    old = json.dumps(meta, indent=1) + "\n"
    (out / "dataset.json").write_text(old)
    res = _invoke(*RASTER, "--out", str(out), "--count", "3")
    assert res.exit_code == 0, res.output
    assert "2 already complete" in res.output and sorted(read_manifest(out)) == [0, 1, 2]
    assert (out / "dataset.json").read_text() == old
    res = CliRunner().invoke(cli, [*RASTER, "--out", str(out), "--count", "3", "--set", "hand.gesture_weights={fist: 0.5}"])
    assert res.exit_code != 0 and "hand.gesture_weights.fist only in the new config" in res.output
    assert validate_dataset(out).ok
