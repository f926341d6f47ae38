"""The export page in a real browser against run.py with its real worker: preview, start,
the live progress card, the result summary the page shows when the job ends, and the loop
fix a date -> export again, in which the archive follows the library."""

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
        assert (server["data"] / "output" / "undated" / "silver_fir.jpg").exists()  # its file date is no date

        # the household loop: notice, fix, export again; the archive follows
        page.goto("/?q=silver_fir")
        page.locator(".tile a.open").first.click()
        expect(page.locator("#taken")).to_have_text("No real date")
        page.locator("#set-text").fill("4 July 2015 10:00")
        page.get_by_role("button", name="Set date").click()
        expect(page.locator("#taken")).to_contain_text("4 July 2015, 10:00")
        expect(page.locator("#taken")).to_contain_text("UTC+02:00")  # Berlin's summer time on that date
        page.goto("/export?preview=1")
        expect(page.locator("#in-step")).to_contain_text("0 new")
        expect(page.locator(".renames")).to_contain_text("undated/silver_fir.jpg → 2015/20150704_1000.jpg")
        shots(page, "32-export-update-preview")
        page.get_by_role("button", name="Bring the archive up to date: 0 new, 1 updated, 0 retired").click()
        expect(page.locator("#result")).to_contain_text("1 updated", timeout=60_000)
        assert (server["data"] / "output" / "2015" / "20150704_1000.jpg").exists()
        assert not (server["data"] / "output" / "undated" / "silver_fir.jpg").exists()
        context.close()
