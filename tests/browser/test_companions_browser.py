"""Companion sets in a real browser: an iPhone folder with a Live Photo (HEIC + MOV) and a
picture with its edit and .AAE imported through the import page shows two tiles, each with
the badge that says what it is, and a Live Photo's page lists both halves. Screenshots go to
test-artifacts/screenshots/ (companions-*.png)."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import running_server

pytestmark = pytest.mark.browser

FILES = ("IMG_3582.HEIC", "IMG_3582.mov", "IMG_1853.HEIC", "IMG_E1853.heic", "IMG_1853.AAE")


def test_a_live_photo_and_an_edited_picture_show_as_one_tile_each(browser, corpus, tmp_path, shots):
    with running_server(tmp_path) as server:
        folder = server["roots"] / "iPhone"
        folder.mkdir()
        for name in FILES:
            shutil.copyfile(corpus / "companions/osxphotos" / name, folder / name)
        context = browser.new_context(base_url=server["url"], viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/import")
        page.get_by_role("link", name="iPhone", exact=True).click()
        page.get_by_role("button", name="Import this folder").click()
        expect(page).to_have_url(re.compile(r"/jobs/\d+"))
        expect(page.locator('[data-field="status_badge"]')).to_have_text("Completed", timeout=120_000)

        page.goto("/photos")
        tiles = page.locator(".tile")
        expect(tiles).to_have_count(2)
        live = tiles.filter(has=page.locator(".badge.live"))
        expect(live.locator(".badge.live")).to_have_text("Live Photo")
        edited = tiles.filter(has=page.locator(".badge.edited"))
        expect(edited.locator(".badges")).to_contain_text("+ sidecar")
        expect(live.locator(".badge.live")).to_be_visible()
        shots(page, "companions-grid-desktop")

        live.locator("a.open").click()
        page.wait_for_url(re.compile(r"/files/\d+"))
        section = page.locator("#companions")
        expect(section.locator("h2")).to_have_text("Live Photo")
        expect(section.locator("li")).to_have_count(2)
        expect(section).to_contain_text("IMG_3582.mov")
        expect(section).to_contain_text("the Live Photo's video")
        shots(page, "companions-live-photo-page")
        context.close()
    assert errors == []
