"""Production hardening of the dataset layer (issue 12): resume that checks sizes and sha256,
untrusted manifests and symlinks, one writer per directory, write errors, and package / preview /
stats on corrupt datasets."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from synth_fake_render import fake_sample, write_fake_dataset

from synth.cli import cli
from synth.data import HandDataset
from synth.dataset.layout import (
    DatasetError,
    DatasetWriteError,
    ManifestEntry,
    UnsafePathError,
    read_manifest,
    safe_member_path,
    verify_sample,
)
from synth.dataset.lock import DatasetLockedError
from synth.dataset.package import package
from synth.dataset.preview import contact_sheet
from synth.dataset.stats import write_card
from synth.dataset.validate import validate_dataset
from synth.dataset.writer import DatasetWriter

HERE = Path(__file__).parent
REPO = HERE.parent.parent
SCRIPT = str(HERE / "synth_fake_render.py")
META = {"config": {"seed": 0, "size": 64, "renderer": "fake", "num_samples": 4}}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), env.get("PYTHONPATH", "")])
    return env


def _tree(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` (hidden ones included, lock files excluded) -> bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".lock")
    }


def _rewrite_manifest(root: Path, sid: int, **files: str) -> None:
    lines = (root / "manifest.jsonl").read_text().splitlines()
    out = []
    for line in lines:
        d = json.loads(line)
        if d["id"] == sid:
            d["files"].update(files)
        out.append(json.dumps(d, separators=(",", ":")))
    (root / "manifest.jsonl").write_text("\n".join(out) + "\n")


def _tmp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- 1. resume checks
def test_resume_redoes_a_truncated_png_and_with_verify_an_edited_label(tmp_path: Path) -> None:
    ref, out = tmp_path / "ref", tmp_path / "ds"
    write_fake_dataset(ref, 4)
    write_fake_dataset(out, 4)
    png = out / "rgb/00000001.png"
    png.write_bytes(png.read_bytes()[:-20])  # truncated: same name, wrong size
    lab = out / "labels/00000002.json"
    text = lab.read_text()
    edited = text.replace('"caption": "a', '"caption": "A', 1)  # same size, other bytes
    assert edited != text and len(edited) == len(text)
    lab.write_text(edited)
    # Size is always checked: the truncated PNG is redone, the same-size edit is not.
    assert write_fake_dataset(out, 4) == [1]
    assert png.read_bytes() == (ref / "rgb/00000001.png").read_bytes()
    # With verify (synth render --verify) the sha256 catches the edited label.
    assert write_fake_dataset(out, 4, verify=True) == [2]
    assert _tree(out).keys() == _tree(ref).keys()
    assert all(v == _tree(ref)[k] for k, v in _tree(out).items() if k != "manifest.jsonl")
    assert read_manifest(out) == read_manifest(ref)  # redone lines are appended: same entries, other order
    assert validate_dataset(out).ok


def test_validate_and_package_refuse_a_sample_whose_file_differs(fake_dataset: Path, tmp_path: Path) -> None:
    lab = fake_dataset / "labels/00000003.json"
    lab.write_text(lab.read_text().replace('"caption": "a', '"caption": "A', 1))  # sha256 differs
    res = CliRunner().invoke(cli, ["validate", str(fake_dataset)])
    assert res.exit_code == 1
    assert "00000003: labels/00000003.json: sha256 differs" in res.output
    out = tmp_path / "pkg"
    res = CliRunner().invoke(cli, ["package", str(fake_dataset), "--format", "coco", "--out", str(out)])
    assert res.exit_code == 1
    assert "invalid sample(s)" in res.output and "ids 3" in res.output
    assert not out.exists() and not list(tmp_path.glob(".pkg*"))


def test_verify_sample_helper(fake_dataset: Path) -> None:
    entries = read_manifest(fake_dataset)
    assert all(verify_sample(fake_dataset, e, check_hash=True) == [] for e in entries.values())
    (fake_dataset / "depth/00000000.exr").unlink()
    p = fake_dataset / "parts/00000001.png"
    p.write_bytes(p.read_bytes()[:10])
    assert verify_sample(fake_dataset, entries[0]) == ["00000000: depth/00000000.exr: missing"]
    assert "size 10 bytes" in verify_sample(fake_dataset, entries[1])[0]
    bad = ManifestEntry(5, {**entries[5].files, "rgb": "../x.png"}, entries[5].sha256, entries[5].bytes)
    assert "sample 5" in verify_sample(fake_dataset, bad)[0]


# ----------------------------------------------------------------------------- 2. untrusted manifests
@pytest.mark.parametrize(
    "rel",
    ["../evil/x.png", "/etc/passwd", "rgb/../../evil.png", "rgb//00000001.png", "./rgb/00000001.png", "rgb\\x.png",
     "x.png", "rgb/.hidden.png", ""],
)  # fmt: skip
def test_unsafe_manifest_paths_are_refused_naming_the_sample(rel: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="sample 7"):
        safe_member_path(tmp_path, rel, 7)


def test_symlink_out_of_the_dataset_is_refused_and_inside_allowed(fake_dataset: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes((fake_dataset / "rgb/00000001.png").read_bytes())
    (fake_dataset / "rgb/00000001.png").unlink()
    os.symlink(secret, fake_dataset / "rgb/00000001.png")
    with pytest.raises(UnsafePathError, match="sample 1: .*outside the dataset"):
        safe_member_path(fake_dataset, "rgb/00000001.png", 1)
    with pytest.raises(UnsafePathError, match="sample 1"):
        HandDataset(fake_dataset, load=("rgb",))[1]
    rep = validate_dataset(fake_dataset)
    assert any(e.startswith("00000001: sample 1: manifest path 'rgb/00000001.png' resolves through") for e in rep.errors)
    # A link that stays inside the dataset is fine for readers.
    (fake_dataset / "rgb/00000001.png").unlink()
    (fake_dataset / "spare").mkdir()
    os.replace(secret, fake_dataset / "spare/x.png")
    os.symlink(fake_dataset / "spare/x.png", fake_dataset / "rgb/00000001.png")
    assert safe_member_path(fake_dataset, "rgb/00000001.png", 1) == fake_dataset / "rgb/00000001.png"


def test_merge_never_writes_outside_out(tmp_path: Path) -> None:
    from synth.farm.merge import MergeError, merge

    shard = tmp_path / "shard"
    write_fake_dataset(shard, 2)
    evil = tmp_path / "evil"
    evil.mkdir()
    (tmp_path / "out").mkdir()
    # A shard whose manifest points rgb of sample 1 at ../evil/x (sizes and hashes made to match).
    os.makedirs(shard / "evil", exist_ok=True)
    _rewrite_manifest(shard, 1, rgb="../evil/x")
    res = CliRunner().invoke(cli, ["merge", str(shard), "--out", str(tmp_path / "out" / "m")])
    assert res.exit_code != 0
    assert "sample 1" in res.output and "../evil/x" in res.output
    assert list(evil.iterdir()) == [] and not (tmp_path / "out" / "m").exists()
    _rewrite_manifest(shard, 1, rgb=str((shard / "rgb/00000001.png").resolve()))
    with pytest.raises(MergeError, match="sample 1: .*absolute"):
        merge([shard], tmp_path / "m2")


def test_package_refuses_an_absolute_path_instead_of_linking_it(fake_dataset: Path, tmp_path: Path) -> None:
    outside = tmp_path / "private.png"
    outside.write_bytes((fake_dataset / "rgb/00000002.png").read_bytes())  # same size and sha256
    _rewrite_manifest(fake_dataset, 2, rgb=str(outside))
    out = tmp_path / "pkg"
    res = CliRunner().invoke(cli, ["package", str(fake_dataset), "--format", "coco", "--out", str(out), "--split", "none"])
    assert res.exit_code == 1 and "sample 2" in res.output and "absolute" in res.output
    assert not out.exists()
    assert outside.stat().st_nlink == 1  # never hard-linked anywhere
    for argv in (["preview", str(fake_dataset), "--out", str(tmp_path / "s.png")], ["stats", str(fake_dataset)]):
        res = CliRunner().invoke(cli, argv)
        assert res.exit_code == 1 and "sample 2" in res.output, argv
    assert not (tmp_path / "s.png").exists() and not (fake_dataset / "README.md").exists()
    with pytest.raises(UnsafePathError, match="sample 2"):
        HandDataset(fake_dataset)
    assert len(HandDataset(fake_dataset, ids=[0, 1, 3])) == 3  # the other samples stay readable


# ----------------------------------------------------------------------------- 3. writer and symlinks
def test_writer_refuses_a_symlinked_folder_and_ignores_planted_temp_links(tmp_path: Path) -> None:
    out, victim = tmp_path / "ds", tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    write_fake_dataset(out, 2)
    # A planted .dataset.json.tmp link (the old fixed temporary name) and manifest temp link.
    os.symlink(victim / "keep.txt", out / ".dataset.json.tmp")
    os.symlink(victim / "keep.txt", out / "rgb/.00000002.png.tmp")
    write_fake_dataset(out, 4, force=True, resume=False)
    assert (victim / "keep.txt").read_text() == "precious"
    # rgb/ swapped for a link to elsewhere: refused, one line, nothing written there.
    os.rename(out / "rgb", tmp_path / "rgb_real")
    os.symlink(victim, out / "rgb")
    with pytest.raises(DatasetError, match=r"rgb is a symlink") as exc:
        write_fake_dataset(out, 5)
    assert "\n" not in str(exc.value)
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]


def test_writer_refuses_a_folder_swapped_for_a_link_mid_job(tmp_path: Path) -> None:
    out, victim = tmp_path / "ds", tmp_path / "victim"
    victim.mkdir()
    with DatasetWriter(out, META, background=False) as w:
        w.write_sample(0, *fake_sample(0))
        # Swapping the folder after the writer opened it cannot redirect the writes: the writer
        # holds the folder's descriptor; a folder it has not created yet is opened without following.
        os.symlink(victim, out / "extra")
        with pytest.raises(DatasetWriteError, match="extra.*symlink"):
            images, label, _ = fake_sample(1)
            w.write_sample(1, images, label, extra_files={"extra": b"x"})
    assert list(victim.iterdir()) == []


# ----------------------------------------------------------------------------- 4. one writer per directory
def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, SCRIPT, *args], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_opened(proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "opened", (line, proc.stderr.read() if proc.stderr else "")


def test_a_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    out, gate = tmp_path / "ds", tmp_path / "go"
    holder = _spawn(str(out), "3", "--wait-for", str(gate))
    try:
        _wait_opened(holder)
        with pytest.raises(DatasetLockedError, match=rf"pid {holder.pid}@{socket.gethostname()}") as exc:
            write_fake_dataset(out, 3)
        assert "\n" not in str(exc.value)
        # Also through the CLI-like subprocess: a non-zero exit and a one-line reason.
        second = subprocess.run([sys.executable, SCRIPT, str(out), "3"], env=_env(), capture_output=True, text=True)
        assert second.returncode != 0 and f"pid {holder.pid}@" in second.stderr
    finally:
        gate.touch()
        assert holder.wait(60) == 0
    ref = tmp_path / "ref"
    write_fake_dataset(ref, 3)
    assert _tree(out) == _tree(ref)
    assert write_fake_dataset(out, 3) == []  # released at exit: the next writer gets it


def test_shards_of_one_job_share_a_directory_at_the_same_time(tmp_path: Path) -> None:
    out, gate, ref = tmp_path / "ds", tmp_path / "go", tmp_path / "ref"
    n = 24
    # Two real processes, overlapping id ranges (8..15 written by both), started together.
    procs = [
        _spawn(str(out), "16", "--start", "0", "--shared", "--wait-for", str(gate)),
        _spawn(str(out), str(n), "--start", "8", "--shared", "--wait-for", str(gate)),
    ]
    try:
        for p in procs:
            _wait_opened(p)
        # A shard of another job (other seed) is refused while they hold the directory.
        other = subprocess.run([sys.executable, SCRIPT, str(out), "4", "--seed", "9", "--shared"], env=_env(),
                               capture_output=True, text=True)  # fmt: skip
        assert other.returncode != 0 and "different job" in other.stderr
        # And so is a plain (exclusive) writer of the same job.
        with pytest.raises(DatasetLockedError):
            write_fake_dataset(out, 4)
    finally:
        gate.touch()
        outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    write_fake_dataset(ref, n)
    ref_lines = {json.loads(x)["id"]: x for x in (ref / "manifest.jsonl").read_text().splitlines()}
    lines = (out / "manifest.jsonl").read_text().splitlines()
    ids = [json.loads(x)["id"] for x in lines]
    assert sorted(set(ids)) == list(range(n))  # nothing lost
    assert all(x == ref_lines[json.loads(x)["id"]] for x in lines)  # nothing mixed: every line is the reference's
    skip = ("manifest.jsonl", "dataset.json")  # dataset.json: num_samples is the first shard's
    assert {k: v for k, v in _tree(out).items() if k not in skip} == {k: v for k, v in _tree(ref).items() if k not in skip}
    assert validate_dataset(out).ok
    assert not _tmp_leftovers(out)


def test_a_different_job_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_fake_dataset(out, 2, seed=0)
    before = _tree(out)
    with pytest.raises(DatasetError, match="different config"):
        write_fake_dataset(out, 2, seed=1)
    assert _tree(out) == before and not _tmp_leftovers(out)


# ----------------------------------------------------------------------------- 5. write errors
def test_disk_full_is_one_line_naming_the_path_and_leaves_no_temporaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, ref = tmp_path / "ds", tmp_path / "ref"
    write_fake_dataset(ref, 4)
    real_write = os.write
    calls = {"n": 0}

    def full_disk(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] > 9:  # a few files in, the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(DatasetWriteError) as exc:
        write_fake_dataset(out, 4)
    monkeypatch.setattr(os, "write", real_write)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"cannot write {out}") and "No space left on device" in msg
    assert exc.value.errno == errno.ENOSPC and isinstance(exc.value, OSError)
    assert not _tmp_leftovers(out)
    # The re-run recovers byte-identically.
    write_fake_dataset(out, 4)
    assert _tree(out) == _tree(ref)


def test_background_write_error_surfaces_as_the_same_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "ds"
    real_open = os.open

    def read_only(path, flags, *a, **kw):  # noqa: ANN001, ANN202 - os.open's signature
        if str(path).startswith(".00000001.png") and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(os, "open", read_only)
    w = DatasetWriter(out, META)  # background thread
    w.write_sample(0, *fake_sample(0))
    w.write_sample(1, *fake_sample(1))
    with pytest.raises(DatasetWriteError, match=r"cannot write .*rgb/00000001.png: Permission denied"):
        w.close()
    monkeypatch.setattr(os, "open", real_open)
    assert sorted(read_manifest(out)) == [0]
    assert not _tmp_leftovers(out)
    res = subprocess.run([sys.executable, SCRIPT, str(out), "2"], env=_env(), capture_output=True, text=True)
    assert res.returncode == 0 and sorted(read_manifest(out)) == [0, 1]


# ----------------------------------------------------------------------------- 6. package / preview / stats
def _corrupt(ds: Path) -> None:
    png = ds / "rgb/00000001.png"
    png.write_bytes(png.read_bytes()[:50])  # truncated PNG
    (ds / "depth/00000004.exr").unlink()  # missing file
    lab = ds / "labels/00000006.json"  # bad label JSON, its manifest line updated to match: only parsing catches it
    lab.write_bytes(b"{not json\n")
    lines = []
    for line in (ds / "manifest.jsonl").read_text().splitlines():
        d = json.loads(line)
        if d["id"] == 6:
            d["bytes"]["label"] = lab.stat().st_size
            d["sha256"]["label"] = hashlib.sha256(lab.read_bytes()).hexdigest()
        lines.append(json.dumps(d, separators=(",", ":")))
    (ds / "manifest.jsonl").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("fmt", ["coco", "webdataset", "parquet", "controlnet", "freihand"])
def test_package_of_a_corrupt_dataset_errs_with_no_output_or_skips(fake_dataset: Path, tmp_path: Path, fmt: str) -> None:
    _corrupt(fake_dataset)
    out = tmp_path / "pkg"
    res = CliRunner().invoke(cli, ["package", str(fake_dataset), "--format", fmt, "--out", str(out), "--split", "none"])
    assert res.exit_code == 1
    assert "3 invalid sample(s)" in res.output and "ids 1, 4, 6" in res.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    res = CliRunner().invoke(cli, ["package", str(fake_dataset), "--format", fmt, "--out", str(out), "--split", "none",
                                   "--skip-invalid"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "skipped 3 invalid sample(s): ids 1, 4, 6" in res.output
    meta = json.loads((out / "skipped_invalid.json").read_text())
    assert meta["skipped_invalid"]["ids"] == [1, 4, 6] and meta["skipped_invalid"]["count"] == 3
    assert "wrote train 5" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "pkg"]  # no staging directory left


def test_package_failure_midway_leaves_no_partial_output(fake_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import synth.dataset.formats.coco as coco

    real = coco.link_or_copy
    seen = {"n": 0}

    def boom(src, dst):  # noqa: ANN001, ANN202 - fails on the third image (disk full, say)
        seen["n"] += 1
        if seen["n"] == 3:
            raise DatasetError(f"cannot copy {src}")
        return real(src, dst)

    monkeypatch.setattr(coco, "link_or_copy", boom)
    with pytest.raises(DatasetError, match="cannot copy"):
        package(fake_dataset, "coco", tmp_path / "pkg", {"train": 1.0})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_preview_and_stats_of_a_corrupt_dataset(fake_dataset: Path, tmp_path: Path) -> None:
    _corrupt(fake_dataset)
    sheet = tmp_path / "sheet.png"
    res = CliRunner().invoke(cli, ["preview", str(fake_dataset), "--out", str(sheet)])
    assert res.exit_code == 1 and "ids 1, 4, 6" in res.output and not sheet.exists()
    res = CliRunner().invoke(cli, ["stats", str(fake_dataset)])
    assert res.exit_code == 1 and "ids 1, 4, 6" in res.output
    assert not (fake_dataset / "README.md").exists() and not (fake_dataset / "card_plots").exists()
    assert not list(fake_dataset.glob(".card_plots*"))

    res = CliRunner().invoke(cli, ["preview", str(fake_dataset), "--out", str(sheet), "--skip-invalid"])
    assert res.exit_code == 0 and "skipped 3 invalid sample(s): ids 1, 4, 6" in res.output
    from PIL import Image

    with Image.open(sheet) as im:
        assert json.loads(im.text["synth:skipped_invalid"])["ids"] == [1, 4, 6]
    report: dict = {}
    assert contact_sheet(fake_dataset, tmp_path / "s2.png", skip_invalid=True, report=report) == 5
    assert report["skipped_invalid"]["count"] == 3
    res = CliRunner().invoke(cli, ["stats", str(fake_dataset), "--skip-invalid"])
    assert res.exit_code == 0 and "skipped 3 invalid sample(s)" in res.output
    card = (fake_dataset / "README.md").read_text()
    assert "3 invalid sample(s) left out" in card and "ids 1, 4, 6" in card and card.startswith("# ds")
    assert "5 samples rendered" in card
    write_card(fake_dataset, skip_invalid=True)  # again: replaces card_plots/ in one rename
    assert (fake_dataset / "card_plots").is_dir() and not list(fake_dataset.glob(".card_plots*"))


def test_existing_datasets_still_read(fake_dataset: Path) -> None:
    """Backward compatibility: a manifest line in the original format reads and validates."""
    e = read_manifest(fake_dataset)[0]
    assert set(json.loads(e.to_json())) == {"id", "files", "sha256", "bytes"}
    ds = HandDataset(fake_dataset)
    assert len(ds) == 8 and ds[0]["rgb"].dtype == np.uint8
    assert validate_dataset(fake_dataset).ok
    assert write_fake_dataset(fake_dataset, 8, seed=3) == []
    assert not (fake_dataset / ".lock").read_text()  # the lock records no holder once released


def test_import_mano_help_says_the_pickle_is_read_restricted() -> None:
    res = CliRunner().invoke(cli, ["models", "import-mano", "--help"])
    assert res.exit_code == 0 and "restricted unpickler" in res.output


def test_resume_removes_temporaries_left_by_a_killed_writer(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_fake_dataset(out, 2)
    left = [out / ".manifest.jsonl.4242.0a1b2c3d.tmp", out / ".dataset.json.4242.0a1b2c3d.tmp",
            out / "rgb/.00000002.png.4242.0a1b2c3d.tmp"]  # fmt: skip
    for p in left:
        p.write_bytes(b"half")
    assert write_fake_dataset(out, 3) == [2]
    assert not _tmp_leftovers(out)


@pytest.mark.blender
def test_real_render_resume_checks_sizes_and_with_verify_sha256(tmp_path: Path) -> None:
    pytest.importorskip("bpy")
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "synth.cli", "render", "--count", "2", "--resolution", "64", "--preset", "draft",
           "--seed", "3", "--out", str(out)]  # fmt: skip
    first = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    good = _tree(out)
    png = out / "rgb/00000000.png"
    png.write_bytes(png.read_bytes()[:-16])  # truncated
    lab = out / "labels/00000001.json"
    text = lab.read_text()
    i = text.index('"caption": "') + len('"caption": "')
    lab.write_text(text[:i] + ("X" if text[i] != "X" else "Y") + text[i + 1 :])  # same size, other bytes
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    assert res.returncode == 0 and "wrote 1 samples" in res.stdout, (res.stdout, res.stderr)
    assert png.read_bytes() == good["rgb/00000000.png"]
    assert lab.read_text() != good["labels/00000001.json"].decode()  # sizes alone cannot see this edit
    res = subprocess.run([*cmd, "--verify"], env=_env(), capture_output=True, text=True)
    assert res.returncode == 0 and "wrote 1 samples" in res.stdout, (res.stdout, res.stderr)
    assert {k: v for k, v in _tree(out).items() if k != "manifest.jsonl"} == {k: v for k, v in good.items() if k != "manifest.jsonl"}
    assert sorted(read_manifest(out)) == [0, 1] and validate_dataset(out).ok


def test_malformed_manifest_entries_are_reported_not_crashed_on(fake_dataset: Path) -> None:
    lines = (fake_dataset / "manifest.jsonl").read_text().splitlines()
    d = json.loads(lines[2])
    d["files"]["rgb"] = {"not": "a path"}
    lines[2] = json.dumps(d)
    lines.append(json.dumps({"id": -4, "files": {"label": "labels/x.json"}}))
    (fake_dataset / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(cli, ["validate", str(fake_dataset)])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)  # a report, not a traceback
    assert "00000002: sample 2: manifest path {'not': 'a path'} is not a non-empty string" in res.output
    assert f"line {len(lines)} is not a valid manifest entry" in res.output
    res = CliRunner().invoke(cli, ["package", str(fake_dataset), "--format", "webdataset", "--out", str(fake_dataset.parent / "p"),
                                   "--skip-invalid", "--split", "none"])  # fmt: skip
    assert res.exit_code == 0 and "skipped 1 invalid sample(s): ids 2" in res.output
