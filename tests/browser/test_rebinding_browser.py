"""DNS rebinding in a real browser: Chromium is told that evil.example lives at 127.0.0.1
(as an attacker's DNS would answer after the page loaded), so a page from evil.example is,
to the browser, the same origin as the live MediaParser. The server must answer it with a
400 and give it nothing: no library, no originals, no settings change."""

from __future__ import annotations

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

EVIL = "evil.example"

# Run inside the page from evil.example: what a rebinding attack would try.
ATTACK = """async () => {
  const status = async (url, options) => (await fetch(url, options)).status;
  return {
    grid: await status('/'),
    files: await status('/api/files'),
    original: await status('/files/1/original'),
    settingsPage: await status('/settings'),
    saveSettings: await status('/api/settings', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({timezone: 'Pacific/Kiritimati', output_dir: '/etc'}),
    }),
  };
}"""


@pytest.fixture
def rebinding_browser(playwright):
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {EVIL} 127.0.0.1"]
    )
    yield browser
    browser.close()


def test_a_page_under_a_foreign_host_name_gets_nothing(rebinding_browser, live_server, shots):
    port = live_server["url"].rsplit(":", 1)[1]
    context = rebinding_browser.new_context(bypass_csp=True)  # so only the server's answer decides
    page = context.new_page()

    # the same browser reaches the real MediaParser under its own names
    for own in (live_server["url"], f"http://localhost:{port}"):
        assert page.goto(own + "/api/files").status == 200
    before = page.request.get(live_server["url"] + "/api/settings").json()

    response = page.goto(f"http://{EVIL}:{port}/")
    assert response.status == 400
    assert "does not answer to the name" in page.locator("body").inner_text()
    shots(page, "40-rebinding-refused", full_page=False)
    results = page.evaluate(ATTACK)
    assert results == dict.fromkeys(results, 400) and len(results) == 5

    after = page.request.get(live_server["url"] + "/api/settings").json()
    assert after == before and after["timezone"] != "Pacific/Kiritimati"
    context.close()
