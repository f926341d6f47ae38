"""A first end-to-end check of the import pipeline on generated files."""

from PIL import Image
from sqlalchemy import select

from app.models import File, Job
from app.pipeline import importer, jobs


def test_import_generated_folder(app, tmp_path):
    src = tmp_path / "photos" / "2019-06 Holiday"
    src.mkdir(parents=True)
    Image.new("RGB", (64, 48), "red").save(src / "IMG_20190615_143000.jpg")
    (src / "notes.txt").write_text("not a photo")
    job = importer.start_folder_import(tmp_path / "photos", roots=None)
    assert jobs.run(job.id) == "completed"
    rows = {f.original_name: f for f in app.extensions["sqlalchemy"].session.execute(select(File)).scalars()}
    assert rows["IMG_20190615_143000.jpg"].status == "done"
    assert rows["IMG_20190615_143000.jpg"].taken_local == "2019-06-15T14:30:00"
    assert rows["notes.txt"].status == "skipped"
    assert app.extensions["sqlalchemy"].session.get(Job, job.id).status == "completed"
