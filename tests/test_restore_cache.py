"""Restoration runs: content-addressed cache keys, sharded atomic outputs, integrity on resume, the
kill -9 guarantee, and the same shard jobs on a process pool and on Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import ROOT, synthetic_faces, write_fer_csv
from helpers import NARROW_GFPGAN

from ferbench.data import Dataset, load_dataset
from ferbench.restore import create_restorer, load_restored, restore_dataset
from ferbench.stages.runner import stage_key
from ferbench.stages.spec import ShardWorker, StageSpec
from ferbench.stages.store import MANIFEST, shard_name


def dataset(n=20, seed=0):
    images, labels = synthetic_faces(n, seed=seed)
    return Dataset(images=images, labels=labels.astype(np.int64), splits=np.array(["Training"] * n),
                   ids=np.array([f"r{i}" for i in range(n)]), source="synthetic", source_hash=f"{seed:064d}")


def key(ds, name, size=None, channels=None, **params):
    return stage_key(ds, ShardWorker(StageSpec("restore", name, params, size, channels)).description)


def test_restored_dataset_keeps_ids_labels_splits_and_records_the_restorer(tmp_path):
    ds = dataset()
    out = restore_dataset(ds, "clahe", {"clip_limit": 3.0}, out_dir=tmp_path / "job", shard_size=6)
    assert np.array_equal(out.images, create_restorer("clahe", clip_limit=3.0)(ds.images))
    for attr in ("ids", "labels", "splits"):
        assert np.array_equal(getattr(out, attr), getattr(ds, attr))
    record = out.options["restore"]
    assert record["name"] == "clahe" and record["params"] == {"clip_limit": 3.0, "tile_grid": 4}
    assert out.fingerprint != ds.fingerprint and out.source_hash == ds.source_hash
    assert sorted(p.name for p in (tmp_path / "job").glob("shard-*.npz")) == [shard_name(i) for i in range(4)]
    job = json.loads((tmp_path / "job" / "job.json").read_text())
    assert job["status"] == "complete" and job["cost"]["images"] == 20 and job["cost"]["s_per_image"] > 0
    reread = load_restored(tmp_path / "job")
    assert reread.fingerprint == out.fingerprint and np.array_equal(reread.images, out.images)


def test_cache_key_changes_with_every_setting(tmp_path):
    from spandrel.architectures.GFPGAN import GFPGAN

    ds = dataset()
    keys = {
        "base": key(ds, "clahe"),
        "clip": key(ds, "clahe", clip_limit=3.0),
        "tiles": key(ds, "clahe", tile_grid=8),
        "size": key(ds, "clahe", size=64),
        "channels": key(ds, "clahe", channels=3),
        "restorer": key(ds, "histeq"),
        "data": key(dataset(seed=1), "clahe"),
        "subset": key(ds.subset(np.arange(10)), "clahe"),
        "kernel": key(ds, "resize", method="lanczos"),
        "kernel2": key(ds, "resize", method="bicubic"),
    }
    assert key(ds, "clahe") == keys["base"]  # stable
    torch.manual_seed(0)
    weights = tmp_path / "g.pth"
    torch.save(GFPGAN(**NARROW_GFPGAN).state_dict(), weights)
    face = dict(weights=str(weights), arch=NARROW_GFPGAN, face_size=64)
    keys["gfpgan"] = key(ds, "gfpgan", **face)
    for name, change in {"pad": {"pad": 0.1}, "upscale": {"upscale": "lanczos"}, "version": {"version": "1.3"},
                         "face_size": {"face_size": 128},
                         "arch": {"arch": {**NARROW_GFPGAN, "num_mlp": 1}}}.items():
        if name == "arch":  # other weights fit another architecture
            torch.save(GFPGAN(**change["arch"]).state_dict(), tmp_path / "g1.pth")
            change = {**change, "weights": str(tmp_path / "g1.pth")}
        keys[f"gfpgan-{name}"] = key(ds, "gfpgan", **{**face, **change})
    torch.manual_seed(1)  # same path, other bytes: the key follows the file's content, not its name
    torch.save(GFPGAN(**NARROW_GFPGAN).state_dict(), weights)
    keys["gfpgan-weights"] = key(ds, "gfpgan", **face)
    assert len(set(keys.values())) == len(keys), keys


def test_second_run_reuses_every_shard_and_a_corrupt_shard_is_recomputed(tmp_path):
    ds = dataset()
    first = restore_dataset(ds, "histeq", out_dir=tmp_path, shard_size=8)
    assert first.report["this_run"]["shards_computed"] == 3
    again = restore_dataset(ds, "histeq", out_dir=tmp_path, shard_size=8)
    assert again.report["this_run"] == {"shards_computed": 0, "shards_reused": 3, "cost": None}
    shard = tmp_path / shard_name(1)
    data = bytearray(shard.read_bytes())
    data[-20] ^= 0xFF  # flip one byte of the images
    shard.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="1 of 3 shards missing or corrupt"):
        load_restored(tmp_path)
    fixed = restore_dataset(ds, "histeq", out_dir=tmp_path, shard_size=8)
    assert fixed.report["this_run"]["shards_computed"] == 1
    assert np.array_equal(fixed.images, first.images)


def test_default_cache_is_shared_and_a_foreign_job_dir_is_refused(tmp_path):
    ds = dataset()
    a = restore_dataset(ds, "identity")
    b = restore_dataset(ds, "identity")
    assert a.report["job_dir"] == b.report["job_dir"] and b.report["this_run"]["shards_computed"] == 0
    restore_dataset(ds, "identity", out_dir=tmp_path)
    with pytest.raises(ValueError, match="holds another job"):
        restore_dataset(ds, "histeq", out_dir=tmp_path)


SLOW_SCRIPT = '''
import os, sys, time
from ferbench.data import load_dataset
from ferbench.restore import Restorer, register_restorer, restore_dataset


@register_restorer("slow_invert", output="input")
class SlowInvert(Restorer):
    batch_size = 4

    def _restore(self, images):
        time.sleep(float(os.environ.get("SLOW_S", "0")))
        return 255 - images


if __name__ == "__main__":
    restore_dataset(load_dataset(sys.argv[1]), "slow_invert", out_dir=sys.argv[2], shard_size=4)
'''


def _run(script, csv, out, slow):
    env = {**os.environ, "SLOW_S": str(slow), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, str(script), str(csv), str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _load_script(path):
    import importlib.util

    from ferbench.restore.registry import RESTORERS

    if "slow_invert" not in RESTORERS:
        spec = importlib.util.spec_from_file_location("slow_invert_plugin", path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_resume_after_kill_9_redoes_no_finished_shard(tmp_path):
    images, labels = synthetic_faces(40)
    csv = write_fer_csv(tmp_path / "f.csv", images, labels, ["Training"] * 40)
    script = tmp_path / "slow.py"
    script.write_text(SLOW_SCRIPT)
    job = tmp_path / "job"

    proc = _run(script, csv, job, slow=0.4)  # 10 shards of 4 images, 0.4 s each
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        manifest = job / MANIFEST
        if manifest.exists() and len(json.loads(manifest.read_text())["shards"]) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    before = json.loads((job / MANIFEST).read_text())["shards"]
    assert 3 <= len(before) < 10
    mtimes = {k: (job / e["file"]).stat().st_mtime_ns for k, e in before.items()}
    (job / ".shard-00009.npz.crash.tmp").write_bytes(b"half a shard")  # what a kill mid-write leaves
    victim = sorted(before)[0]
    (job / before[victim]["file"]).write_bytes(b"corrupt")  # and a finished shard damaged since

    resumed = _run(script, csv, job, slow=0)
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read().decode()[-2000:]
    after = json.loads((job / MANIFEST).read_text())["shards"]
    assert sorted(after, key=int) == [str(i) for i in range(10)]
    for k, entry in before.items():
        if k == victim:
            assert after[k]["pid"] == resumed.pid  # the damaged one was recomputed ...
        else:  # ... every other finished shard was kept as it was
            assert after[k] == entry and (job / entry["file"]).stat().st_mtime_ns == mtimes[k]
    assert all(after[k]["pid"] == resumed.pid for k in after if k not in before)
    assert not list(job.glob(".*.tmp"))

    ds = load_dataset(csv)
    _load_script(script)  # registers slow_invert here too, for the uninterrupted reference run
    reference = restore_dataset(ds, "slow_invert", out_dir=tmp_path / "clean", shard_size=4)
    result = load_restored(job)
    assert np.array_equal(result.images, 255 - ds.images) and np.array_equal(result.images, reference.images)
    assert np.array_equal(result.ids, ds.ids) and result.fingerprint == reference.fingerprint
    assert len(json.loads((job / "job.json").read_text())["runs"]) == 1  # the killed run never finished


def test_process_pool_gives_the_same_bytes(tmp_path):
    ds = dataset(24)
    local = restore_dataset(ds, "clahe", out_dir=tmp_path / "a", shard_size=5)
    pooled = restore_dataset(ds, "clahe", out_dir=tmp_path / "b", shard_size=5, workers=2)
    assert np.array_equal(local.images, pooled.images) and local.fingerprint == pooled.fingerprint
    assert json.loads((tmp_path / "b" / "job.json").read_text())["runs"][0]["cost"]["workers"] == 2


def test_ray_executor_on_a_local_instance(tmp_path):
    ray = pytest.importorskip("ray")
    ds = dataset(24)
    local = restore_dataset(ds, "clahe", out_dir=tmp_path / "a", shard_size=5)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = restore_dataset(ds, "clahe", out_dir=tmp_path / "b", shard_size=5, workers=2, executor="ray")
    finally:
        ray.shutdown()
    assert np.array_equal(local.images, on_ray.images) and local.fingerprint == on_ray.fingerprint
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())["shards"]
    assert len(manifest) == 5 and all(e["cost"]["items"] == e["n"] for e in manifest.values())


def test_stage_cost_is_reported_also_from_the_cache():
    ds = dataset()
    first = restore_dataset(ds, "clahe")
    cached = restore_dataset(ds, "clahe")
    assert cached.report["this_run"]["shards_computed"] == 0
    assert cached.report["restore_cost"] == first.report["restore_cost"]
    assert cached.report["restore_cost"]["images"] == 20 and cached.report["restore_cost"]["s_per_image"] > 0
