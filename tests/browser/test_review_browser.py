"""Review in a real browser, on a desktop (1400×900) and a phone (390×844): the empty
library's two ways in, a realistic dump imported, the home's counts, every check-dates answer
and its undo, the timeline jump, leave out, turn, the tags page — with no console error on
any page. Screenshots of every page go to test-artifacts/screenshots/ (review-*.png).

One live server and one library for the module; the tests run in file order."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import running_server
from tests.dump_helpers import make_dump

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
PAGES = ["/", "/photos", "/check", "/duplicates", "/tags", "/export", "/upload", "/import", "/jobs", "/settings"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("review")) as server:
        yield server


@pytest.fixture(scope="module")
def dump(server, tmp_path_factory):
    return make_dump(tmp_path_factory.mktemp("dump") / "Family photos")


class Console:
    """Every console error and uncaught exception of the pages a context opens."""

    def __init__(self, context):
        self.errors: list[str] = []
        context.on("page", self.watch)

    def watch(self, page):
        page.on("console", lambda m: self.errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))


@pytest.fixture
def desktop(browser, server):
    context = browser.new_context(base_url=server["url"], viewport=DESKTOP)
    console = Console(context)
    page = context.new_page()
    yield page
    context.close()
    assert console.errors == []


@pytest.fixture
def phone(browser, server):
    context = browser.new_context(
        base_url=server["url"], viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    console = Console(context)
    page = context.new_page()
    yield page
    context.close()
    assert console.errors == []


def opened(page):
    """After a click that opens a file: its page and its script are ready."""
    page.wait_for_url(re.compile(r"/files/\d+"))
    page.wait_for_load_state()


def visit_every_page(page, shots, suffix: str) -> None:
    for url in PAGES:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], url
        name = url.strip("/") or "home"
        shots(page, f"review-{name}-{suffix}", full_page=suffix == "desktop")


def test_the_empty_library_shows_two_ways_in_and_no_page_errs(desktop, phone, shots):
    desktop.goto("/")
    expect(desktop.get_by_role("link", name=re.compile("Upload photos"))).to_be_visible()
    expect(desktop.get_by_role("link", name=re.compile("Import a folder"))).to_be_visible()
    visit_every_page(desktop, shots, "empty-desktop")
    desktop.goto("/photos")
    expect(desktop.locator("#match-count")).to_have_text("0 files")  # not a JavaScript error
    visit_every_page(phone, shots, "empty-phone")


def test_import_the_dump_and_the_job_says_what_next(desktop, server, dump, shots):
    shutil.copytree(dump.root, server["roots"] / "Family photos")
    desktop.goto("/import")
    desktop.get_by_role("link", name="Family photos", exact=True).click()
    desktop.get_by_role("button", name="Import this folder").click()
    expect(desktop).to_have_url(re.compile(r"/jobs/\d+"))
    # the page that was open while it ran shows the next step without a reload
    expect(desktop.locator('[data-field="next"]')).to_have_text("Look at these files", timeout=120_000)
    expect(desktop.locator('[data-field="status_badge"]')).to_have_text("Completed", timeout=60_000)
    expect(desktop.locator("#problems")).to_contain_text("None: every file was imported.")
    expect(desktop.locator("#made-tags")).to_contain_text("Summer at the lake")
    shots(desktop, "review-job-finished-desktop")


def test_home_counts_on_desktop_and_phone(desktop, phone, dump, shots):
    for page, suffix in ((desktop, "desktop"), (phone, "phone")):
        page.goto("/")
        expect(page.locator('[data-count="files"]')).to_have_text(str(len(dump.files)))
        expect(page.locator('[data-count="review"]')).to_have_text("22")
        reasons = page.locator("#step-dates .reasons")
        expect(reasons).to_contain_text("12 Only the day a messaging app sent it")
        expect(reasons).to_contain_text("8 Only a file date")
        expect(reasons).to_contain_text("2 Camera date and folder name differ")
        expect(page.locator("#archive-state")).to_have_text("Not exported yet.")
        shots(page, f"review-home-{suffix}", full_page=False)


def answer(page, reason: str, button: str, n: int):
    section = page.locator(f"section#{reason}")
    section.get_by_role("button", name=re.compile(button)).click()
    expect(section.locator(".preview-summary")).to_contain_text(f"{n} file")
    expect(section.locator("tbody tr")).to_have_count(min(n, 20))
    return section


def review_count(page) -> str:
    page.goto("/")
    return page.locator('[data-count="review"]').inner_text() if page.locator('[data-count="review"]').count() else "0"


@pytest.mark.parametrize(
    ("reason", "button", "n"),
    [
        ("camera_vs_folder", "Trust the camera over the folder name", 2),
        ("day_only_name", "Accept the day", 12),
        ("only_file_time", "Use the file dates", 8),
        ("only_file_time", "Leave these 8 undated", 8),
    ],
)
def test_each_triage_answer_is_previewed_done_and_undone(desktop, shots, reason, button, n):
    before = review_count(desktop)
    desktop.goto("/check")
    section = answer(desktop, reason, button, n)
    shots(desktop, f"review-check-preview-{reason}", full_page=False)
    section.get_by_role("button", name="Do it").click()
    expect(desktop.locator("#toast")).to_contain_text(str(n))
    expect(desktop.locator(f"section#{reason}")).to_have_count(0)  # that reason is settled
    desktop.locator("#toast").get_by_role("button", name="Undo").click()
    expect(desktop.locator("#toast")).to_contain_text("Undone")
    assert review_count(desktop) == before


def test_check_dates_page_on_desktop_and_phone(desktop, phone, shots):
    for page, suffix in ((desktop, "desktop"), (phone, "phone")):
        page.goto("/check")
        expect(page.locator("section.reason")).to_have_count(3)
        expect(page.locator("section#day_only_name .examples li")).to_have_count(6)
        shots(page, f"review-check-{suffix}", full_page=suffix == "desktop")


def test_timeline_jumps_to_a_month(desktop, shots):
    desktop.goto("/photos")
    bar = desktop.locator("#timeline a.m")
    expect(bar.first).to_be_visible()
    shots(desktop, "review-grid-timeline-desktop", full_page=False)
    target = desktop.locator('#timeline a.m[title^="June 2019"]')
    target.click()
    expect(desktop).to_have_url(re.compile(r"month=2019-06"))
    desktop.wait_for_load_state()
    expect(desktop.locator(".month-head").first).to_have_attribute("data-month", "2019-06")
    expect(desktop.locator('#timeline a.m.here[title^="June 2019"]')).to_have_count(1)
    # select the whole month from its heading
    desktop.locator(".month-head").first.get_by_role("button", name="Select this month").click()
    expect(desktop.locator("#sel-count")).to_contain_text(re.compile(r"The whole month 2019-06: \d+ files selected"))


def test_leave_out_a_selection_and_undo(desktop, shots):
    desktop.goto("/photos?q=Screenshot")
    expect(desktop.locator("#match-count")).to_have_text("6 files")
    tiles = desktop.locator(".tile")
    tiles.nth(0).click(modifiers=["Control"])
    tiles.nth(1).click(modifiers=["Control"])
    desktop.get_by_role("button", name="Leave out").click()
    expect(desktop.locator("#toast")).to_contain_text("Left 2 files out of the archive")
    expect(desktop.locator("#match-count")).to_have_text("4 files")
    desktop.goto("/")
    expect(desktop.locator("#step-export")).to_contain_text("2 left out")
    shots(desktop, "review-home-left-out-desktop", full_page=False)
    desktop.locator("#recent .undo-action").first.click()
    expect(desktop.locator("#toast")).to_contain_text("Undone")
    expect(desktop.locator("#step-export")).not_to_contain_text("left out")


def test_turn_a_picture_and_undo(desktop, shots):
    desktop.goto("/photos?q=DSC_0500")
    # the detail preview of a JPEG is made from its original when first opened
    with desktop.expect_response(re.compile(r"/thumbs/.*-l\.jpg$")) as preview:
        desktop.locator(".tile a.open").first.click()
    assert preview.value.status == 200 and "immutable" in preview.value.headers["cache-control"]
    opened(desktop)
    desktop.get_by_role("button", name="Turn right").click()
    expect(desktop.locator("#toast")).to_contain_text("Turned 1 picture right")
    expect(desktop.locator("#picture")).to_have_attribute("src", re.compile(r"turned\.jpg\?turn=90"))
    shots(desktop, "review-detail-turned-desktop", full_page=False)
    desktop.locator("#toast").get_by_role("button", name="Undo").click()
    expect(desktop.locator("#toast")).to_contain_text("Undone")
    expect(desktop.locator("#picture")).to_have_attribute("src", re.compile(r"/thumbs/.*-l\.jpg"))


def test_tags_page_rename_merge_delete(desktop, shots):
    desktop.goto("/tags")
    expect(desktop.locator(".tagrow")).to_have_count(5)
    shots(desktop, "review-tags-desktop")
    row = desktop.locator(".tagrow", has_text="Scans")
    row.get_by_role("button", name="Rename Scans").click()
    row.locator(".rename-form input").fill("Old prints")
    row.get_by_role("button", name="Save").click()
    expect(desktop.locator("#toast")).to_contain_text("Renamed the tag to “Old prints”")
    expect(desktop.locator("#taglist")).to_contain_text("Old prints")
    # merge "Oma" into "Old prints"
    desktop.locator(".tagrow", has_text="Oma").locator(".tick").check()
    desktop.locator(".tagrow", has_text="Old prints").locator(".tick").check()
    desktop.locator("#merge-into").select_option(label="Old prints")
    desktop.get_by_role("button", name="Merge").click()
    expect(desktop.locator("#toast")).to_contain_text("Merged 2 tags into “Old prints”")
    expect(desktop.locator(".tagrow")).to_have_count(4)
    desktop.locator("#toast").get_by_role("button", name="Undo").click()
    expect(desktop.locator(".tagrow")).to_have_count(5)
    desktop.once("dialog", lambda d: d.accept())
    desktop.locator(".tagrow", has_text="Holiday 2019").get_by_role("button", name=re.compile("Remove")).click()
    expect(desktop.locator("#toast")).to_contain_text("Removed the tag from 2 files")
    expect(desktop.locator(".tagrow")).to_have_count(4)
    desktop.locator("#toast").get_by_role("button", name="Undo").click()
    expect(desktop.locator(".tagrow")).to_have_count(5)


def test_phone_menu_selection_bar_and_hints(phone, shots):
    phone.goto("/photos")
    expect(phone.locator(".mainnav")).to_be_hidden()
    phone.get_by_text("Menu").click()
    menu = phone.locator(".phonenav nav")
    for label in ("Home", "Photos", "Check dates", "Duplicates", "Tags", "Export", "Settings"):
        link = menu.get_by_role("link", name=label, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # nothing off-screen
    shots(phone, "review-phone-menu", full_page=False)
    phone.get_by_text("Menu").click()
    expect(phone.locator(".keys-hint")).to_be_hidden()
    phone.locator(".tile .pick").first.check()
    bar = phone.locator("#bulkbar")
    expect(bar).to_be_visible()
    assert bar.bounding_box()["height"] <= 0.3 * PHONE["height"]
    shots(phone, "review-phone-selection", full_page=False)


def test_a_tile_without_a_preview_keeps_its_badges_clear_of_the_text(phone, server, shots):
    import sqlite3

    with sqlite3.connect(server["data"] / "mediaparser.db") as con:  # a video whose preview failed
        key = con.execute("SELECT thumb_key FROM file WHERE original_name = 'DSC_0900.JPG'").fetchone()[0]
        con.execute("UPDATE file SET thumb_key = NULL, media_kind = 'video' WHERE original_name = 'DSC_0900.JPG'")
    phone.goto("/photos?q=DSC_0900")
    tile = phone.locator(".tile").first
    badges = tile.locator(".badges").bounding_box()
    text = tile.locator(".nothumb span").first.bounding_box()
    assert badges["y"] + badges["height"] <= text["y"], (badges, text)
    shots(phone, "review-phone-no-preview", full_page=False)
    with sqlite3.connect(server["data"] / "mediaparser.db") as con:
        con.execute("UPDATE file SET thumb_key = ?, media_kind = 'image' WHERE original_name = 'DSC_0900.JPG'", (key,))


def test_a_file_over_the_upload_limit_is_refused_by_the_page_and_the_job_says_so(browser, tmp_path, shots):
    with running_server(tmp_path / "small", MEDIAPARSER_MAX_UPLOAD_MB="1") as small:
        context = browser.new_context(base_url=small["url"], viewport=DESKTOP)
        console = Console(context)
        page = context.new_page()
        big = tmp_path / "big.jpg"
        big.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 1_500_000)
        ok = tmp_path / "ok.jpg"
        from tests.web_helpers import jpeg

        ok.write_bytes(jpeg("green"))
        page.goto("/upload")
        page.set_input_files("#pick-files", [str(big), str(ok)])
        expect(page.locator("#filelist")).to_contain_text("larger than the upload limit of 1.0 MB")
        expect(page.locator("#n-refused")).to_have_text("1")
        expect(page.locator("#review-link")).to_be_visible(timeout=60_000)
        shots(page, "review-upload-too-large")
        page.locator("#job-link").click()
        expect(page.locator("#problems")).to_contain_text("big.jpg")
        expect(page.locator("#problems")).to_contain_text("larger than the upload limit")
        context.close()
        assert console.errors == []


def test_every_page_after_the_import_on_desktop_and_phone(desktop, phone, shots):
    visit_every_page(desktop, shots, "desktop")
    visit_every_page(phone, shots, "phone")
    desktop.goto("/photos?reason=day_only_name")
    desktop.locator(".tile a.open").first.click()
    opened(desktop)
    expect(desktop.locator("#review-reason")).to_contain_text("Only the day a messaging app sent it")
    shots(desktop, "review-detail-desktop")
    phone.goto(desktop.url)
    shots(phone, "review-detail-phone", full_page=False)
