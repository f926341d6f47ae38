"""Extensions people can open, on real files from the corpus: a JPEG that carries an MPF
index (a 3D camera's .mpo, a JPEG with a preview) is exported as .jpg with its date written
in; a HEIF still is .heic; AVCHD stays .mts; an original's own extension is kept where it
already names the real type (.JPEG -> .jpeg). exiftool reads every copy back."""

from __future__ import annotations

import shutil

from PIL import Image

from app.media import naming
from app.pipeline import importer, jobs
from tests.export_helpers import assert_archive_agrees, exiftool, needs_exiftool, run_export, tree

pytestmark = needs_exiftool

FILES = {
    "formats/pillow/sugarshack.mpo": "3d.mpo",  # MPF, two frames (Nintendo 3DS)
    "exif/exiftool/ExifTool.jpg": "preview.JPEG",  # MPF with a preview, named .JPEG
    "heic/exifpy/spring_1440x960.heic": "still.heic",  # major brand mif1: "HEIF"
    "heic/exifpy/HMD_Nokia_8.3_5G_hdr.heif": "nokia.heif",  # named .heif
    "video/exiftool/M2TS.mts": "clip.mts",  # AVCHD
}


def test_archive_extensions_people_can_open(app, corpus, tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    for source, name in FILES.items():
        shutil.copyfile(corpus / source, root / name)
    assert jobs.run(importer.start_folder_import(root, roots=None).id) == "completed"
    output = tmp_path / "archive"
    assert run_export(app, output).status == "completed"
    assert sorted(tree(output)) == [
        "2001/20010519_183641.jpeg",  # preview.JPEG: its own extension, in lower case
        "2008/20081231_231624.mts",  # AVCHD stays .mts
        "2008/20081231_231624.mts.xmp",
        "2014/20140302_141739.jpg",  # the .mpo: a JPEG, with its date written in
        "2020/20201203_150431.heic",  # a HEIF still (brand mif1) named .heic
        "2020/20201203_150431.heic.xmp",
        "2022/20220112_083014.heif",  # named .heif already: kept
        "2022/20220112_083014.heif.xmp",
    ]
    records = assert_archive_agrees(output)
    assert records["2014/20140302_141739.jpg"]["method"] == "embed"
    assert records["2001/20010519_183641.jpeg"]["method"] == "embed"
    assert exiftool(output)["2014/20140302_141739.jpg"]["ExifIFD:DateTimeOriginal"] == "2014:03:02 14:17:39"
    with Image.open(output / "2014/20140302_141739.jpg") as copy:
        assert copy.n_frames == 2  # the MPF index still finds the second picture


def test_archive_ext_rules():
    assert naming.archive_ext("image/mpo", "mpo", "3d.MPO") == "jpg"
    assert naming.archive_ext("image/jpeg", "jpg", "IMG_1.JPEG") == "jpeg"
    assert naming.archive_ext("image/jpeg", "jpg", "photo.png") == "jpg"  # a JPEG named .png
    assert naming.archive_ext("image/heif", "heif", "x.hif") == "heic"
    assert naming.archive_ext("image/heif", "heif", "x.heif") == "heif"
    assert naming.archive_ext("image/heic", "heic", "x.HEIC") == "heic"
    assert naming.archive_ext("video/m2ts", "mts", "00001.MTS") == "mts"
    assert naming.archive_ext("image/tiff", "tif", "scan.TIFF") == "tiff"
    assert naming.archive_ext("image/x-nikon-nef", "nef", "DSC_1.NEF") == "nef"
