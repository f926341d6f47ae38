"""Shared by the duplicate tests: a library of its own per module, the CLI's JSON, and
pairwise precision/recall against ground-truth families."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

from app import create_app
from app.models import db
from app.pipeline import importer, jobs
from tests.conftest import make_settings


class Library:
    """A data folder with a migrated database (copied from the session template)."""

    def __init__(self, data_dir: Path, template_db: Path):
        self.settings = make_settings(data_dir)
        self.settings.instance_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(template_db, self.settings.instance_dir / "mediaparser.db")
        self.app = create_app(self.settings)
        self.app.config["TESTING"] = True

    def import_folder(self, folder: Path) -> None:
        with self.app.app_context():
            job = importer.start_folder_import(folder, roots=None)
            assert jobs.run(job.id) == "completed"

    def groups_json(self, *args: str) -> dict:
        result = self.app.test_cli_runner().invoke(args=["duplicates", "--json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def predicted_pairs(groups: list[dict], kinds=("exact", "near")) -> set[tuple[str, str]]:
    pairs = set()
    for g in groups:
        if g["kind"] in kinds:
            pairs |= set(itertools.combinations(sorted(g["files"]), 2))
    return pairs


def true_pairs(family_of: dict[str, str]) -> set[tuple[str, str]]:
    by_family: dict[str, list[str]] = {}
    for path, family in family_of.items():
        by_family.setdefault(family, []).append(path)
    return {p for members in by_family.values() for p in itertools.combinations(sorted(members), 2)}


def precision_recall(predicted: set, truth: set, label: str) -> tuple[float, float]:
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    print(
        f"\n{label}: pairwise precision {precision:.4f} ({hits}/{len(predicted)}), "
        f"recall {recall:.4f} ({hits}/{len(truth)})"
    )
    return precision, recall
