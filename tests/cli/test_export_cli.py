"""`flask export` (dry run, --wait, --cleanup) and `flask export-restore`."""

from __future__ import annotations

import json

from tests.pipeline.test_export_pipeline import library, tree  # noqa: F401 - the library fixture


def test_dry_run_then_export_then_cleanup_and_restore(app, library, tmp_path):  # noqa: F811
    runner = app.test_cli_runner()
    output = tmp_path / "archive"
    originals = tree(library)

    result = runner.invoke(args=["export", str(output), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "in step  5 new, 0 updated, 0 retired" in result.output
    assert "1 left out (by you, or as a duplicate)" in result.output and "enough" in result.output
    assert not output.exists()

    listing = runner.invoke(args=["export", str(output), "--dry-run", "--list"]).output
    assert "2019/20190616_101010.png (+ 20190616_101010.png.xmp)  <-  photos/2019-06 Holiday/Screenshot" in listing
    assert "skip photos/broken.jpg: Could not be read when imported" in listing
    plan = json.loads(runner.invoke(args=["export", str(output), "--dry-run", "--json"]).output)
    assert plan["counts"]["export"] == 5 and len(plan["files"]) == 8  # every imported file, with its fate

    result = runner.invoke(args=["export", str(output), "--wait", "--cleanup"])
    assert result.exit_code == 0, result.output
    assert "exported" in result.output and "clean-up: 6 originals moved to the trash" in result.output
    assert len(tree(output)) == 6  # five pictures and one sidecar

    result = runner.invoke(args=["export-restore", str(output)])
    assert result.exit_code == 0, result.output
    assert "Restored 6 files" in result.output
    assert {p: v for p, v in tree(library).items() if ".mediaparser-trash" not in p} == originals


def test_export_refuses_a_folder_inside_storage(app):
    settings = app.config["MEDIAPARSER"]
    result = app.test_cli_runner().invoke(args=["export", str(settings.storage_dir / "x"), "--wait"])
    assert result.exit_code != 0 and "storage" in result.output
