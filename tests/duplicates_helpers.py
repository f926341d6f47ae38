"""Shared by the duplicate tests: a library of its own per module, the CLI's JSON,
pairwise precision/recall against ground-truth families, and the split of the ground truth
into a tuning half and a held-out half.

The split: a unit of ground truth (a family of copies, or a single file that belongs to no
family) is keyed by a corpus-relative path (a family by its first listed path, or by the
corpus photo its copies are made from); the unit is *held out* when the first byte of the
sha256 of that path is odd. Deterministic, blind to the pictures, and a family is never
split, so every true pair lies in one half.

Which half the thresholds in app/media/similarity.py were tuned on: BOTH. They were set
before this split existed, looking at the whole corpus and its transformed copies, so the
held-out figures of today are a regression check, not an unbiased estimate. From now on,
tune (change NEAR_SCORE, NEAR_LOCAL, COARSE_FLOOR, SIMILAR_SCORE, the Facts limits or the
SENSITIVITY table) looking only at the tuning half's figures, and read the held-out ones
after; they stay honest only that way.
"""

from __future__ import annotations

import hashlib
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


def held_out(key: str) -> bool:
    """True for the held-out half: `key` is a corpus-relative path (see the module docstring)."""
    return hashlib.sha256(key.encode()).digest()[0] % 2 == 1


def held_out_precision_recall(predicted: set, truth: set, held: set[str], label: str) -> tuple[float, float]:
    """Precision and recall on the held-out files `held`: the true pairs among them, and every
    predicted pair that touches one of them (a held-out file grouped with a tuning-half file
    counts against the held-out precision)."""
    assert all((a in held) == (b in held) for a, b in truth), "a family is split between the halves"
    return precision_recall(
        {(a, b) for a, b in predicted if a in held or b in held},
        {(a, b) for a, b in truth if a in held},
        f"{label}, held-out half ({len(held)} files)",
    )
