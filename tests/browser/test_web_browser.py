"""The household's path through MediaParser in a real browser: upload a folder of photos,
watch the job finish, fix a doubtful date, shift a camera's photos, sort out a duplicate,
tag and filter. Screenshots of every page go to test-artifacts/screenshots/.

The tests run in file order against one live server (one library that grows)."""

from __future__ import annotations

import base64
import os
import re
import shutil
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import running_server

pytestmark = pytest.mark.browser

PHOTOS = {  # corpus file -> where it sits in the folder the person uploads
    "exif/exifpy/exif-org/canon-ixus.jpg": "Holiday 2019/canon-ixus.jpg",
    "exif/exifpy/exif-org/fujifilm-dx10.jpg": "Holiday 2019/fujifilm-dx10.jpg",
    "exif/exifpy/exif-org/nikon-e950.jpg": "Holiday 2019/nikon-e950.jpg",
    "exif/exifpy/exif-org/olympus-c960.jpg": "Holiday 2019/olympus-c960.jpg",
    "exif/exifpy/Canon_40D_photoshop_import.jpg": "Holiday 2019/IMG-20190616-WA0001.jpg",  # no camera date: doubtful
    "natural/immich/silver_fir.jpg": "Garden/silver_fir.jpg",
    "natural/immich/wood_anemones.jpg": "Garden/wood_anemones.jpg",
    "exif/exifpy/exif-org/canon-ixus.jpg#copy": "Holiday 2019/Backup/canon-ixus copy.jpg",  # exact duplicate
}
FILE_TIME = datetime(2021, 3, 1, 9, 0).timestamp()


@pytest.fixture(scope="module")
def folder(corpus, tmp_path_factory):
    """A handful of corpus files, copied into a folder tree like a person's."""
    root = tmp_path_factory.mktemp("to-upload") / "Family photos"
    for source, target in PHOTOS.items():
        dest = root / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / source.split("#")[0], dest)
        os.utime(dest, (FILE_TIME, FILE_TIME))
    return root


def opened(page):
    """After a click that opens a file: its page and its script are ready."""
    page.wait_for_url(re.compile(r"/files/\d+"))
    page.wait_for_load_state()


def open_grid(page, query: str = ""):
    page.goto("/photos" + (f"?{query}" if query else ""))
    expect(page.locator("#match-count")).not_to_have_text("Counting…")


def test_upload_a_folder_and_watch_the_job_finish(page, folder, shots):
    page.goto("/upload")
    shots(page, "01-upload-empty")
    page.set_input_files("#pick-folder", str(folder))
    expect(page.locator("#progress-panel")).to_be_visible()
    expect(page.locator("#review-link")).to_be_visible(timeout=90_000)
    expect(page.locator("#n-done")).to_have_text(str(len(PHOTOS)))
    expect(page.locator("#n-failed")).to_have_text("0")
    expect(page.locator("#n-known")).to_have_text("1")  # the copy in Backup/ is recognised
    shots(page, "02-upload-finished")

    page.goto("/jobs")
    card = page.locator(".job").first
    expect(card.locator('[data-field="status_badge"]')).to_have_text("Completed")
    expect(card.locator('[data-field="figures"]')).to_contain_text(f"{len(PHOTOS)} of {len(PHOTOS)} files")
    shots(page, "03-jobs")


def test_review_grid_shows_badges_and_keyboard_and_filters_work(page, folder, shots):
    open_grid(page)
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(len(PHOTOS))
    # every tile says how sure its date is (which word depends on the detection rules)
    expect(page.locator('.tile .badge[class*="conf-"]')).to_have_count(len(PHOTOS))
    expect(page.locator(".badge.dup")).to_have_count(2)
    shots(page, "04-grid")
    # keyboard: focus the first picture, arrow right, space selects it
    tiles.nth(0).locator("a.open").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")
    expect(tiles.nth(1)).to_have_class(re.compile("selected"))
    expect(page.locator("#bulkbar")).to_be_visible()
    expect(page.locator("#sel-count")).to_have_text("1 selected")
    page.keyboard.press("Escape")
    expect(page.locator("#bulkbar")).to_be_hidden()
    # filters: only the dates that need a look
    page.locator("#f-review").check()  # submits by itself
    expect(page).to_have_url(re.compile(r"review=1"))
    expect(page.locator("#match-count")).not_to_have_text("Counting…")
    expect(page.locator(".tile .badge.conf-high, .tile .badge.conf-medium")).to_have_count(0)
    expect(page.locator(".tile .badge.conf-low, .tile .badge.conf-none")).to_have_count(tiles.count())


def test_phone_sized_grid_is_readable(browser, base_url, folder, shots):
    context = browser.new_context(
        base_url=base_url, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    open_grid(page)
    # three or more pictures across, nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shots(page, "05-grid-phone", full_page=False)
    page.goto(page.locator(".tile a.open").first.get_attribute("href"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shots(page, "06-detail-phone", full_page=False)
    context.close()


def test_tag_a_selection_then_filter_by_it(page, folder, shots):
    open_grid(page)
    tiles = page.locator(".tile")
    tiles.nth(0).click(modifiers=["Control"])
    tiles.nth(2).click(modifiers=["Shift"])  # a range: the first three
    expect(page.locator("#sel-count")).to_have_text("3 selected")
    page.get_by_role("button", name="Tags…").click()
    page.locator("#bulk-tag-text").fill("Grandma")
    shots(page, "07-grid-selection-tags", full_page=False)
    page.get_by_role("button", name="Add to selected").click()
    expect(page.locator("#toast")).to_contain_text("Added “Grandma” to 3 files")  # the case typed is kept
    page.locator("#f-tag").fill("grandma")
    page.locator("#f-tag").press("Enter")
    expect(page).to_have_url(re.compile(r"tag=grandma"))
    expect(page.locator(".tile")).to_have_count(3)
    # undo from the detail page's tag chip: remove it from one file
    page.locator(".tile a.open").first.click()
    opened(page)
    page.get_by_role("button", name="Remove tag Grandma").click()
    expect(page.locator("#toast")).to_contain_text("Removed “Grandma” from 1 file")
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#tags")).to_contain_text("Grandma")
    # typing a tag offers the library's tags that match, as they were written
    page.locator("#tag-text").fill("gran")
    expect(page.locator("#tag-suggestions option")).to_have_attribute("value", "Grandma")


def test_file_detail_explains_every_date_clue(page, folder, shots):
    open_grid(page, "q=Holiday")
    page.locator(".tile", has_text="canon-ixus.jpg").locator("a.open").click()
    opened(page)
    expect(page.locator("#candidates")).to_contain_text("Camera: when the photo was taken")
    expect(page.locator("#candidates")).to_contain_text("Chosen")
    expect(page.locator(".kv").first).to_contain_text("Canon")
    expect(page.locator(".kv").first).to_contain_text("Holiday 2019")
    shots(page, "08-detail")
    # keyboard: next and previous
    here = page.url
    page.keyboard.press("ArrowRight")
    expect(page).not_to_have_url(here)
    page.wait_for_load_state()  # the next page's script listens for keys once it has loaded
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(here)


def test_fix_a_doubtful_date(page, folder, shots):
    open_grid(page, "review=1&q=WA0001")
    page.locator(".tile a.open").first.click()
    opened(page)
    expect(page.locator(".badge.conf-low, .badge.conf-none")).to_be_visible()
    page.locator("#set-text").fill("16 June 2019 14:30")
    page.get_by_role("button", name="Set date").click()
    expect(page.locator("#taken")).to_contain_text("16 June 2019, 14:30")
    expect(page.locator(".badge.decided")).to_be_visible()
    shots(page, "09-detail-fixed")


def test_shift_a_set_of_files_with_a_preview(page, folder, shots):
    open_grid(page, "q=Garden")
    tiles = page.locator(".tile")
    before = tiles.nth(0).locator(".when").inner_text()
    tiles.nth(0).click(modifiers=["Control"])
    tiles.nth(1).click(modifiers=["Control"])
    page.get_by_role("button", name="Shift dates…").click()
    page.locator("#shift-hours").fill("2")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator("#shift-summary")).to_contain_text("2 files would change")
    page.locator("#shift-apply").scroll_into_view_if_needed()
    shots(page, "10-shift-preview", full_page=False)
    page.get_by_role("button", name="Shift them").click()
    expect(page.locator("#toast")).to_contain_text("Shifted")
    assert page.locator(".tile").nth(0).locator(".when").inner_text() != before


def test_this_photo_was_taken_at_corrects_its_camera(page, folder, shots):
    open_grid(page, "q=nikon-e950")
    page.locator(".tile a.open").first.click()
    opened(page)
    page.locator("#taken-text").fill("6 April 2001 13:51")
    page.get_by_role("button", name="Show what would change").click()
    expect(page.locator("#taken-summary")).to_contain_text("would change")
    expect(page.locator("#taken-preview tbody")).to_contain_text("6 April 2001, 13:51:00")
    page.locator("#taken-preview").scroll_into_view_if_needed()
    shots(page, "10b-camera-clock-preview", full_page=False)
    page.get_by_role("button", name="Correct them").click()
    expect(page.locator("#toast")).to_contain_text("Corrected the dates")
    expect(page.locator("#taken")).to_contain_text("6 April 2001, 13:51")


def test_resolve_a_duplicate_group(page, folder, shots):
    page.goto("/duplicates")
    expect(page.locator(".candidate-card")).to_have_count(2)
    expect(page.locator("#group")).to_contain_text("Exact copies")
    shots(page, "11-duplicates")
    page.locator(".candidate-card .keep-this").first.click()
    expect(page.locator(".flash")).to_contain_text("Kept 1 file")
    page.get_by_role("button", name="Undo the last decision").click()
    expect(page.locator(".candidate-card")).to_have_count(2)
    page.locator(".candidate-card .keep-this").first.click()
    expect(page.locator(".empty")).to_contain_text("Nothing left to sort out")


def test_import_folder_settings_and_export_pages(page, live_server, folder, shots):
    shutil.copytree(folder / "Garden", live_server["roots"] / "Card 2021" / "Garden")
    page.goto("/import")
    expect(page.locator("#folders")).to_contain_text("Card 2021")
    page.get_by_role("link", name="Card 2021", exact=True).click()
    expect(page.locator("#here-count")).to_contain_text("2 photos and videos")
    shots(page, "12-import-folder")
    page.get_by_role("button", name="Import this folder").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+"))
    expect(page.locator('[data-field="status_badge"]')).to_have_text("Completed", timeout=60_000)
    expect(page.locator('[data-field="figures"]')).to_contain_text("2 already in the library")
    shots(page, "13-job-detail")

    page.goto("/settings")
    page.locator("#timezone").fill("Mars/Base")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-error")).to_contain_text("not a time zone")
    page.locator("#timezone").fill("Europe/Berlin")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-success")).to_contain_text("Settings saved")
    shots(page, "14-settings")

    page.goto("/export")
    shots(page, "15-export")


def test_drag_and_drop_files_onto_the_page(page, corpus, shots):
    """A drop of files (not a folder): the page falls back to the files' own names."""
    data = base64.b64encode((corpus / "exif/exifpy/Nikon_D70.jpg").read_bytes()).decode()
    page.goto("/upload")
    page.evaluate(
        """(data) => {
          const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], "dropped.jpg", { type: "image/jpeg", lastModified: Date.UTC(2020, 0, 2) }));
          dt.items.add(new File(["just text"], "readme.txt", { type: "text/plain" }));
          const zone = document.getElementById("dropzone");
          zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        data,
    )
    expect(page.locator("#n-done")).to_have_text("2", timeout=30_000)
    expect(page.locator("#n-refused")).to_have_text("1")
    expect(page.locator("#filelist")).to_contain_text("Not a photo or video")
    expect(page.locator("#review-link")).to_be_visible(timeout=60_000)
    shots(page, "16-upload-drop-refused")


def test_household_password_in_the_browser(browser, tmp_path, shots):
    with running_server(tmp_path / "locked", MEDIAPARSER_PASSWORD="blue pelican") as server:
        context = browser.new_context(base_url=server["url"])
        page = context.new_page()
        page.goto("/jobs")
        expect(page).to_have_url(re.compile(r"/login\?next=/jobs"))
        shots(page, "17-login")
        page.locator("#password").fill("red pelican")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".flash-error")).to_contain_text("not right")
        page.locator("#password").fill("blue pelican")
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/jobs$"))
        cookie = next(c for c in context.cookies() if c["name"] == "session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert context.request.get(server["url"] + "/api/jobs").status == 200
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/login"))
        assert context.request.get(server["url"] + "/api/jobs").status == 401
        context.close()
