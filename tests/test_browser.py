"""A person's session in a real browser (Debian's Chromium via Playwright): ask, follow up, add an
article full of markup, and check that none of it runs. Skip with ``--no-browser``; CI runs it.

Saves screenshots under tests/artifacts/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import ROOT, SEED_ID

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "tests" / "artifacts"
WAIT = 90_000  # ms; generous: CI machines and shared dev boxes are slow
SEED_TITLE = "Russia will not withdraw its recognition of Georgia’s de-facto regions"
# Every payload sets window.__pwned or opens a dialog if it ever runs.
HOSTILE = """Moon base <img src=x onerror="window.__pwned='title'"> report
By <script>window.__pwned='byline'</script> Staff
March 3, 2031

The Selene lunar base was completed in 2031 by the Artemis consortium <script>window.__pwned='body';alert('body')</script> after six years of construction.

The base houses 42 researchers <img src=x onerror="window.__pwned='img';alert('img')"> from eleven countries.

More in [the archive](javascript:window.__pwned='md') and ${window.__pwned='template'} too.
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chat_url(tmp_path_factory, seeds_index, embedder):
    from assistant import Assistant
    from assistant.chat.app import build_app, launch

    index = tmp_path_factory.mktemp("browser") / "index"
    shutil.copytree(seeds_index, index, ignore=shutil.ignore_patterns(".lock"))
    demo = build_app(Assistant.load(index, embedder=embedder))
    yield launch(demo, port=_free_port(), block=False)
    demo.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium), or run with --no-browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _offsite(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname != "127.0.0.1"


def _ask(page, question: str, n: int):
    """Type ``question``, press Enter, wait for the n-th reply; returns that reply's element."""
    from playwright.sync_api import expect

    box = page.locator("#aa-question textarea")
    expect(box).to_have_value("", timeout=WAIT)  # the previous turn has finished updating the page
    box.fill(question)
    box.press("Enter")
    expect(page.locator("#aa-chat .aa-msg")).to_have_count(n, timeout=WAIT)
    expect(box).to_have_value("", timeout=WAIT)
    return page.locator("#aa-chat .aa-msg").nth(n - 1)


def test_a_session_in_chromium(chat_url, browser, tmp_path):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    offsite: list[str] = []
    page.on("request", lambda r: offsite.append(r.url) if _offsite(r.url) else None)
    try:
        page.goto(chat_url)
        page.wait_for_selector("#aa-question textarea", timeout=WAIT)

        # 1. The seed question: an answer naming Nauru, cited to the seed article.
        first = _ask(page, "Which states recognize Abkhazia?", 1)
        assert "aa-answer" in first.get_attribute("class")
        assert "Nauru" in first.locator(".aa-text").inner_text()
        assert SEED_TITLE in first.locator(".aa-cite").first.inner_text()
        # Opening the citation shows the quote marked inside its paragraph.
        first.locator(".aa-cite summary").first.click()
        expect(first.locator(".aa-cite .aa-quote").first).to_contain_text("Nauru")
        sources = page.locator("#aa-sources")
        expect(sources).to_contain_text(SEED_TITLE)
        expect(sources.locator(".aa-quote").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "chat-answer.png"))

        # 2. A follow-up that only makes sense with the conversation.
        _ask(page, "Who is Gregory Karasin?", 2)
        follow = _ask(page, "Which outlet did he talk to?", 3)
        assert "Karasin" in follow.locator(".aa-searched").inner_text()  # it searched with the earlier turn
        assert page.locator("#aa-chat .aa-msg").count() == 3

        # 3. Add an article whose text is full of markup; nothing of it may run.
        upload = tmp_path / "moon-base.txt"
        upload.write_text(HOSTILE, encoding="utf-8")
        page.get_by_role("tab", name="Articles").click()
        page.set_input_files("#aa-files input[type=file]", str(upload))
        page.locator("#aa-files").get_by_text("moon-base.txt").first.wait_for(timeout=WAIT)
        page.click("#aa-add")
        page.wait_for_selector("#aa-status .aa-status-ok, #aa-status .aa-status-warn", timeout=WAIT)
        listing = page.locator("#aa-articles")
        expect(listing).to_contain_text("Moon base <img src=x onerror=\"window.__pwned='title'\"> report")
        expect(listing).to_contain_text(SEED_ID)

        hostile = _ask(page, "How many researchers does the lunar base house?", 4)
        assert "<img src=x onerror=" in hostile.text_content()  # shown as text
        _ask(page, "When was the Selene lunar base completed?", 5)
        page.locator("#aa-chat .aa-msg").nth(4).locator(".aa-cite summary").first.click()
        page.get_by_role("tab", name="Sources").click()
        expect(page.locator("#aa-sources")).to_contain_text("<script>window.__pwned='body'")
        assert page.locator("#aa-chat script, #aa-sources script, #aa-articles script").count() == 0
        assert page.locator("#aa-chat img[src=x], #aa-sources img, #aa-articles img").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        page.wait_for_timeout(500)  # give any injected handler the chance to fire
        assert page.evaluate("window.__pwned") is None
        assert dialogs == []
        assert offsite == [], f"the page reached beyond this machine: {offsite[:5]}"
    finally:
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
        page.close()
