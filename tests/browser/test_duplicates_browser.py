"""The duplicates flow in a real browser, on a desktop (1400x900) and a phone (390x844): version
groups with what differs in words, "group x of y", skip, the side-by-side view at 100 %, the
keys shown (not on a touch screen), a key that asks before it decides, undo, and accepting
versions after a preview. Its own live server and library: camera photos from the corpus's
natural/ folder, then their edited versions and a copy. Screenshots go to
test-artifacts/screenshots/ (duplicates-*)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import REPO, running_server
from tests.version_helpers import camera_exif, sepia, straighten, transposed, upright_rgb

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1400, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PHOTOS = ["natural/skimage/chelsea.png", "natural/skimage/coffee.png", "natural/immich/silver_fir.jpg"]


def _flask_import(server: dict, folder) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAPARSER_")}
    env.update(MEDIAPARSER_DATA_DIR=str(server["data"]), MEDIAPARSER_QUEUE="memory")
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "import", str(folder), "--wait"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def library(corpus, tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("dupes-live")) as server:
        camera, edited = server["roots"] / "Camera 2020", server["roots"] / "Edited"
        camera.mkdir()
        edited.mkdir()
        for k, rel in enumerate(PHOTOS):
            im = upright_rgb(corpus / rel)
            stem = rel.rsplit("/", 1)[1].split(".")[0]
            im.save(camera / f"IMG_{k + 1:04d}.jpg", quality=92, exif=camera_exif(f"2020:07:0{k + 1} 18:00:00"))
            transposed(im, Image.Transpose.ROTATE_270).save(edited / f"{stem} turned.jpg", quality=88)
            sepia(im).save(edited / f"{stem} sepia.jpg", quality=88)
            transposed(im, Image.Transpose.FLIP_LEFT_RIGHT).save(edited / f"{stem} mirrored.jpg", quality=88)
            straighten(im, 3, crop=False).save(edited / f"{stem} straightened.jpg", quality=88)
        rocket = upright_rgb(corpus / "natural/skimage/rocket.jpg")
        rocket.save(camera / "rocket.jpg", quality=92)
        rocket.resize((320, 213)).save(edited / "rocket small.jpg", quality=80)  # a plain copy
        _flask_import(server, camera)
        _flask_import(server, edited)
        yield server


def _page(browser, server, device: dict, errors: list):
    context = browser.new_context(base_url=server["url"], **device)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page


def _until(page, script: str, seconds: float = 15.0) -> None:
    """Wait until `script` is true in the page (wait_for_function evaluates strings, which the
    page's Content-Security-Policy forbids)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"still not true: {script}"
        page.wait_for_timeout(100)


def _no_wider_than(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_desktop_versions_skip_zoom_and_keys(browser, library, shots):
    errors: list[str] = []
    context, page = _page(browser, library, DESKTOP, errors)
    page.goto("/duplicates?queue=versions")
    group = page.locator("#group")
    expect(page.locator("#position")).to_have_text("Group 1 of 3")
    expect(page.locator(".queue-tabs a[aria-current=page]")).to_contain_text("Versions · 3 left")
    expect(page.locator(".candidate-card")).to_have_count(5)
    expect(group).to_contain_text("Looks like the unedited original")
    for words in ("Turned 90° right", "Sepia", "Mirrored", "Straightened: turned 3° left, black corners"):
        expect(page.locator(".differs li", has_text=words)).to_have_count(1)
    expect(page.locator("#keys-hint")).to_be_visible()
    expect(page.locator(".candidate-card.recommended .badge.original")).to_have_text("Original")
    shots(page, "duplicates-versions-desktop")

    first = group.get_attribute("data-group")
    page.locator("#skip").click()
    expect(page.locator("#position")).to_have_text("Group 2 of 3")
    assert page.locator("#group").get_attribute("data-group") != first
    page.wait_for_load_state()  # the keys work once the page's script has run
    page.keyboard.press("s")
    expect(page.locator("#position")).to_have_text("Group 3 of 3")
    page.wait_for_load_state()
    page.keyboard.press("s")
    expect(page.locator("#position")).to_have_text("Group 1 of 3")  # back to the first
    page.wait_for_load_state()

    # side by side at 100 %: real size, and the panes scroll together
    page.keyboard.press("z")
    zoom = page.locator("#zoom")
    expect(zoom).to_be_visible()
    imgs = zoom.locator(".zoom-scroll img")
    expect(imgs).to_have_count(5)
    _until(page, "[...document.querySelectorAll('#zoom img')].every(i => i.complete && i.naturalWidth > 0)")
    sizes = imgs.evaluate_all("els => els.map(i => [i.naturalWidth, i.getBoundingClientRect().width])")
    assert all(abs(natural - shown) <= 1 for natural, shown in sizes), sizes
    panes = zoom.locator(".zoom-scroll")
    # the pictures are wider than their panes: scroll the first to its left edge, then its right
    panes.nth(0).evaluate("p => { p.scrollLeft = 0; }")
    _until(page, "document.querySelectorAll('#zoom .zoom-scroll')[1].scrollLeft === 0")
    panes.nth(0).evaluate("p => { p.scrollLeft = p.scrollWidth; }")
    _until(page, "document.querySelectorAll('#zoom .zoom-scroll')[1].scrollLeft > 0")
    shots(page, "duplicates-zoom-desktop", full_page=False)
    page.keyboard.press("Escape")
    expect(zoom).to_be_hidden()

    # a key asks first: No leaves the group as it was, Yes decides
    page.keyboard.press("2")
    dialog = page.locator("#key-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Keep only picture 2")
    shots(page, "duplicates-key-confirm-desktop", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#position")).to_have_text("Group 1 of 3")
    page.keyboard.press("a")
    expect(dialog).to_contain_text("Keep all 5 files")
    page.locator("#key-confirm-no").click()
    expect(dialog).to_be_hidden()
    page.keyboard.press("1")
    expect(dialog).to_contain_text("Keep only picture 1")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Kept 1 file; 4 set aside", timeout=20_000)
    expect(page.locator("#position")).to_have_text("Group 1 of 2")
    page.wait_for_load_state()
    expect(page.locator("#keys-hint")).to_contain_text("U undo")
    page.keyboard.press("u")
    expect(dialog).to_contain_text("Undo the last decision?")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Undone", timeout=20_000)
    expect(page.locator("#position")).to_have_text("Group 1 of 3")
    _no_wider_than(page, 1400)
    assert not errors, errors
    context.close()


def test_phone_versions_zoom_and_accept_after_a_preview(browser, library, shots):
    errors: list[str] = []
    context, page = _page(browser, library, PHONE, errors)
    page.goto("/duplicates?queue=versions")
    expect(page.locator("#position")).to_have_text("Group 1 of 3")
    expect(page.locator(".differs li").first).to_be_visible()
    expect(page.locator("#keys-hint")).to_be_hidden()  # no keys on a touch screen
    expect(page.locator(".candidate-card .key-num").first).to_be_hidden()
    expect(page.locator(".keep-this .key-num-inline").first).to_be_hidden()
    _no_wider_than(page, 390)
    shots(page, "duplicates-versions-phone", full_page=False)
    page.locator(".candidate-card").nth(1).scroll_into_view_if_needed()
    shots(page, "duplicates-versions-phone-card", full_page=False)  # (a full-page shot drops the touch emulation)

    page.locator("#zoom-open").tap()
    zoom = page.locator("#zoom")
    expect(zoom).to_be_visible()
    _until(page, "[...document.querySelectorAll('#zoom img')].every(i => i.complete && i.naturalWidth > 0)")
    boxes = zoom.locator(".zoom-pane").evaluate_all("els => els.slice(0, 2).map(e => e.getBoundingClientRect().top)")
    assert boxes[0] == boxes[1], "the first two pictures are side by side"
    _no_wider_than(page, 390)
    shots(page, "duplicates-zoom-phone", full_page=False)
    page.locator("#zoom-close").tap()

    page.goto("/duplicates?queue=versions")
    page.get_by_role("link", name=re.compile("Look at the suggestion for all 3 version groups")).tap()
    expect(page.locator("#preview > li")).to_have_count(3)
    expect(page.locator(".preview-file.keep")).to_have_count(3)
    expect(page.locator("#preview")).to_contain_text("Turned 90° right")
    _no_wider_than(page, 390)
    shots(page, "duplicates-accept-preview-phone")
    page.get_by_role("button", name="Yes, accept these 3").tap()
    expect(page.locator(".flash")).to_contain_text("Accepted the suggestion for 3 groups")
    expect(page.locator(".empty")).to_contain_text("Nothing left to sort out")
    expect(page.locator(".empty")).to_contain_text("Look at the copies")
    page.get_by_role("link", name="Look at the copies").tap()
    expect(page.locator("#position")).to_have_text("Group 1 of 1")
    expect(page.locator(".candidate-card")).to_have_count(2)
    expect(page.locator(".differs")).to_have_count(0)  # a copy: nothing differs but its size
    shots(page, "duplicates-copies-phone", full_page=False)
    assert not errors, errors
    context.close()
