"""`flask --app app duplicates`: the stable JSON interface and the readable listing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from app.pipeline import duplicate_review as review
from app.pipeline import importer, jobs
from tests.conftest import REPO


def picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).resize((640, 480), Image.Resampling.BICUBIC)


def make_folder(root):
    root.mkdir()
    picture(1).save(root / "a.jpg", quality=90)
    shutil.copy2(root / "a.jpg", root / "a copy.jpg")
    picture(1).resize((320, 240)).save(root / "a_small.webp")
    picture(2).save(root / "b.png")
    Image.new("RGB", (64, 64), "white").save(root / "blank1.png")
    Image.new("RGB", (64, 64), "black").save(root / "blank2.png")


def test_held_out_style_run_in_a_fresh_data_folder(tmp_path):
    """What the held-out check does: import with --wait, then duplicates --json (stdout only)."""
    folder = tmp_path / "photos"
    make_folder(folder)
    env = {**os.environ, "MEDIAPARSER_DATA_DIR": str(tmp_path / "data"), "MEDIAPARSER_QUEUE": "memory"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    done = subprocess.run([*flask, "import", str(folder), "--wait"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = subprocess.run([*flask, "duplicates", "--json"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data) == ["groups"] and len(data["groups"]) == 1
    group = data["groups"][0]
    assert set(group) == {"kind", "files", "recommended", "distance", "differences"}
    assert group["differences"] == [[], [], []]  # copies: nothing differs
    assert group["kind"] == "near" and isinstance(group["distance"], int)
    assert sorted(group["files"]) == sorted(str(folder / n) for n in ("a.jpg", "a copy.jpg", "a_small.webp"))
    assert group["recommended"] == str(folder / "a.jpg")  # "a copy.jpg" is named like a copy


def test_readable_listing_and_filters(app, tmp_path):
    folder = tmp_path / "photos"
    make_folder(folder)
    job = importer.start_folder_import(folder, roots=None)
    assert jobs.run(job.id) == "completed"
    runner = app.test_cli_runner()
    text = runner.invoke(args=["duplicates"]).stdout
    assert "1 group (0 exact, 1 near, 0 version, 0 similar still open)" in text and "3 files" in text
    assert "keep: " + str(folder / "a.jpg") in text and "640×480" in text

    group_id = review.next_open_group()["id"]
    review.keep(group_id, [review.group_view(group_id)["recommended_id"]])
    assert json.loads(runner.invoke(args=["duplicates", "--json", "--open"]).stdout) == {"groups": []}
    assert len(json.loads(runner.invoke(args=["duplicates", "--json"]).stdout)["groups"]) == 1  # decided: still listed
    assert json.loads(runner.invoke(args=["duplicates", "--json", "--kind", "exact"]).stdout) == {"groups": []}
    rescanned = runner.invoke(args=["duplicates", "--rescan"])
    assert rescanned.exit_code == 0 and "Re-scanned:" in rescanned.stdout
    review.not_duplicates(group_id)
    assert runner.invoke(args=["duplicates"]).stdout.strip() == "No duplicate groups."
