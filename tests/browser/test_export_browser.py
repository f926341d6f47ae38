"""The export page in a real browser against run.py with its real worker: preview, start,
the live progress card, and the result summary the page shows when the job ends."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import running_server

pytestmark = pytest.mark.browser

PHOTOS = [
    "exif/exifpy/exif-org/canon-ixus.jpg",
    "exif/exifpy/exif-org/nikon-e950.jpg",
    "natural/immich/silver_fir.jpg",
    "heic/exifpy/spring_1440x960.heic",  # HEIF: gets a sidecar
]


def test_preview_then_export_in_the_browser(browser, corpus, tmp_path, shots):
    with running_server(tmp_path / "export") as server:
        folder = server["roots"] / "Holiday"
        folder.mkdir()
        for name in PHOTOS:
            shutil.copyfile(corpus / name, folder / name.rsplit("/", 1)[-1])
        context = browser.new_context(base_url=server["url"])
        page = context.new_page()
        page.goto("/import")
        page.get_by_role("link", name="Holiday", exact=True).click()
        page.get_by_role("button", name="Import this folder").click()
        expect(page.locator('[data-field="status_badge"]')).to_have_text("Completed", timeout=60_000)

        page.goto("/export")
        page.get_by_role("link", name="Preview the export").click()
        expect(page.locator("#in-step")).to_contain_text("4 new")
        expect(page.locator("#preview table").first).to_contain_text(re.compile(r"\d{4}/\d{8}_\d{6}\.jpg"))
        shots(page, "30-export-preview")
        assert not (server["data"] / "output").exists()  # the preview wrote nothing

        page.get_by_role("button", name="Bring the archive up to date: 4 new, 0 updated, 0 retired").click()
        expect(page.locator(".flash-success")).to_contain_text("Export started")
        # the progress card follows the job; when it ends the page shows the result
        expect(page.locator("#result")).to_contain_text("Last export: Finished.", timeout=60_000)
        expect(page.locator("#result")).to_contain_text("files written")
        shots(page, "31-export-result")
        written = [p for p in (server["data"] / "output").rglob("*") if p.is_file() and ".mediaparser" not in p.parts]
        assert len([p for p in written if p.suffix != ".xmp"]) == len(PHOTOS)
        assert [p for p in written if p.name.endswith((".heic.xmp", ".heif.xmp"))]
        context.close()
