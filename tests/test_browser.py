"""A person's session in a real browser (Debian's Chromium via Playwright): ask, follow up, add an
article full of markup, and check that none of it runs. Skip with ``--no-browser``; CI runs it.

Saves screenshots under tests/artifacts/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import re
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
        searched = follow.locator("details.aa-searched")  # folded away, in words
        assert "Karasin" in searched.text_content() and searched.get_attribute("open") is None
        assert page.locator("#aa-chat .aa-msg").count() == 3

        # 3. Add an article whose text is full of markup; nothing of it may run.
        upload = tmp_path / "moon-base.txt"
        upload.write_text(HOSTILE, encoding="utf-8")
        page.get_by_role("tab", name="Articles").click()
        page.set_input_files("#aa-files input[type=file]", str(upload))
        expect(page.locator("#aa-files")).to_contain_text(re.compile(r"moon-base\s*\.txt"), timeout=WAIT)
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


def _files_to_upload(folder: Path) -> list[Path]:

    from .test_readers import BRIDGE_PAGES, make_notice_docx, make_pdf

    pdf = make_pdf(folder / "harbor-report.pdf", BRIDGE_PAGES)
    word = folder / "tunnel-notice.docx"
    make_notice_docx(word)
    tokyo = folder / "東京.txt"
    tokyo.write_text("Tokyo harbor\n\nThe Tokyo harbor ferry carries 900 passengers a day.\n", encoding="utf-8")
    empty = folder / "empty.md"
    empty.write_text("")
    return [pdf, word, tokyo, empty]


def test_conversation_tools_formats_and_the_shelf_in_chromium(chat_url, browser, tmp_path):
    """Examples that send, a visible working state, folded search, clickable citations, copy, grouped
    sources, export, a conversation that survives a reload, one length limit, PDF/Word uploads with
    pages, a mixed batch, search and removal on the shelf."""
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        viewport={"width": 1360, "height": 1000}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    try:
        page.goto(chat_url)
        box = page.locator("#aa-question textarea")
        box.wait_for(timeout=WAIT)
        msgs = page.locator("#aa-chat .aa-msg")

        # 1. An example is asked as soon as it is clicked.
        page.locator("#aa-chat").locator("xpath=ancestor::div[contains(@class,'column')][1]").get_by_text(
            "Who is Gregory Karasin?", exact=True
        ).click()
        expect(msgs).to_have_count(1, timeout=WAIT)
        expect(msgs.nth(0)).to_contain_text("Karasin")

        # 2. The question shows at once with a working state until its answer replaces it.
        page.evaluate(
            """() => { window.__sawPending = false; new MutationObserver(() => {
                 const p = document.querySelector('#aa-chat .aa-pending');
                 if (p && p.textContent.includes('Searching')) {
                   window.__sawPending = true;
                   window.__boxLocked = window.__boxLocked || document.querySelector('#aa-question textarea').disabled;
                 }
               }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
        )
        box.fill("Which ties did he say were restored?")
        box.press("Enter")
        expect(page.locator("#aa-chat")).to_contain_text("Which ties did he say were restored?", timeout=WAIT)
        page.screenshot(path=str(ARTIFACTS / "chat-working.png"))
        expect(msgs).to_have_count(2, timeout=WAIT)
        assert page.evaluate("window.__sawPending")
        assert page.evaluate("window.__boxLocked")  # one question at a time while it works
        expect(box).to_be_editable(timeout=WAIT)
        expect(page.locator("#aa-chat .aa-pending")).to_have_count(0)
        follow = msgs.nth(1)
        expect(follow).to_contain_text("trade ties")

        # 3. The search line is folded; the citation marker opens its citation; copy puts the answer on the clipboard.
        searched = follow.locator("details.aa-searched")
        assert searched.get_attribute("open") is None and "Karasin" in searched.text_content()
        searched.locator("summary").click()
        expect(searched.locator(".aa-searched-body")).to_be_visible()
        first_cite = follow.locator("li.aa-cite details").first
        assert first_cite.get_attribute("open") is None
        follow.locator("a.aa-ref").first.click()
        expect(first_cite).to_have_attribute("open", "")
        follow.locator(".aa-copy").click()
        expect(follow.locator(".aa-copy")).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()") or page.evaluate("window.__aaCopied")
        assert follow.locator(".aa-text").inner_text().rstrip("1").strip() in copied and "[1]" in copied
        page.screenshot(path=str(ARTIFACTS / "chat-citation-copy.png"))

        # 4. Sources: one group per answer, newest first; weak passages dimmed.
        groups = page.locator("#aa-sources .aa-group")
        expect(groups).to_have_count(2)
        expect(groups.first).to_contain_text("Which ties did he say were restored?")
        weak = page.locator("#aa-sources .aa-card.aa-weak")
        assert weak.count() >= 1  # the 0.01-0.1 passages behind these answers
        assert weak.first.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"  # marked, still legible
        expect(weak.first).to_contain_text("weak match")
        strong = page.locator("#aa-sources .aa-card:not(.aa-weak)").first
        assert strong.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
        page.locator("#aa-sources").screenshot(path=str(ARTIFACTS / "chat-sources-grouped.png"))

        # 5. Export as Markdown with the citations.
        with page.expect_download(timeout=WAIT) as download:
            page.click("#aa-export")
        markdown = Path(download.value.path()).read_text(encoding="utf-8")
        assert "## 1. Who is Gregory Karasin?" in markdown and "## 2. Which ties did he say were restored?" in markdown
        assert SEED_ID in markdown and "> " in markdown

        # 6. A reload keeps the conversation (browser storage).
        page.reload()
        box.wait_for(timeout=WAIT)
        expect(msgs).to_have_count(2, timeout=WAIT)
        expect(groups).to_have_count(2, timeout=WAIT)
        page.screenshot(path=str(ARTIFACTS / "chat-after-reload.png"))

        # 7. A long paste is not cut silently: the box takes it and says how much is answered in full.
        assert "2,000 characters" in box.get_attribute("placeholder")
        box.fill("x" * 5000)
        assert len(box.input_value()) == 5000
        box.fill("")

        # 8. PDF, Word and a non-Latin name in one batch with an empty file: the good ones are added.
        page.get_by_role("tab", name="Articles").click()
        uploads = _files_to_upload(tmp_path)
        page.set_input_files("#aa-files input[type=file]", [str(p) for p in uploads])
        # Gradio shows a long name as its stem and extension in two elements ("harbor-report .pdf")
        expect(page.locator("#aa-files")).to_contain_text(re.compile(r"harbor-report\s*\.pdf"), timeout=WAIT)
        page.evaluate(
            """() => { window.__steps = new Set(); new MutationObserver(() => {
                 const t = document.body.innerText;
                 for (const s of ['Reading files', 'Embedding the text', 'Publishing the new index'])
                   if (t.includes(s)) window.__steps.add(s);
               }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
        )
        page.click("#aa-add")
        status = page.locator("#aa-status .aa-status-warn")
        status.wait_for(timeout=WAIT)
        expect(status).to_contain_text("3 added")
        steps = page.evaluate("[...window.__steps]")
        # progress that moves (the embedding step of these small files is too quick to be sent: test_progress.py)
        assert {"Reading files", "Publishing the new index"} <= set(steps), steps
        expect(status).to_contain_text("empty.md")
        listing = page.locator("#aa-articles")
        expect(listing).to_contain_text("Harbor Bridge annual report")
        expect(listing).to_contain_text("Talia Okonkwo-Reyes · 2031-03-14")
        expect(listing).to_contain_text("東京")
        page.screenshot(path=str(ARTIFACTS / "chat-upload-batch.png"))
        answer = _ask(page, "Who designed the Harbor Bridge?", 3)
        expect(answer.locator(".aa-text")).to_contain_text("Mira Castell")
        expect(answer.locator(".aa-cite").first).to_contain_text("p. 2")
        page.screenshot(path=str(ARTIFACTS / "chat-pdf-page.png"))

        # 9. The shelf: search it, then remove an article from the chat.
        page.fill("#aa-filter textarea, #aa-filter input", "okonkwo")
        expect(listing).to_contain_text("1 match", timeout=WAIT)
        expect(listing.locator("li")).to_have_count(1)
        page.locator("#aa-remove-pick input").click()
        page.locator("#aa-remove-pick input").fill("harbor-report")
        page.get_by_role("option", name="Harbor Bridge annual report — harbor-report").click()
        page.locator("#aa-remove").click()  # asks first, next to the button; Cancel keeps the article
        expect(page.locator("#aa-confirm-text")).to_contain_text("Remove 1 article?", timeout=WAIT)
        page.locator("#aa-cancel").click()
        expect(page.locator("#aa-remove-status")).to_contain_text("Nothing was removed", timeout=WAIT)
        expect(listing).to_contain_text("Harbor Bridge annual report")
        page.locator("#aa-remove").click()
        expect(page.locator("#aa-confirm-text")).to_contain_text("Harbor Bridge annual report", timeout=WAIT)
        page.locator("#aa-confirm").click()
        removed = page.locator("#aa-remove-status")
        expect(removed).to_contain_text("Removed 1 article", timeout=WAIT)
        gap = page.evaluate(
            """() => document.querySelector('#aa-remove-status').getBoundingClientRect().top
                   - document.querySelector('#aa-remove').getBoundingClientRect().bottom"""
        )
        assert 0 <= gap < 150, gap  # the message sits by the button that caused it
        expect(listing).not_to_contain_text("Harbor Bridge annual report")
        page.fill("#aa-filter textarea, #aa-filter input", "")
        expect(listing).to_contain_text(SEED_ID, timeout=WAIT)
        page.screenshot(path=str(ARTIFACTS / "chat-shelf.png"))
        # its passages are gone from the answers too, and the stored conversation says so
        page.reload()
        expect(msgs).to_have_count(3, timeout=WAIT)
        expect(msgs.nth(2)).to_contain_text("no longer in the index")

        # 10. The API page lists /ask's answer field by field, and /remove_articles.
        page.get_by_text("Use via API").first.click()
        expect(page.get_by_text("/remove_articles").first).to_be_visible(timeout=WAIT)
        expect(page.locator("body")).to_contain_text("citations", timeout=WAIT)
        expect(page.locator("body")).to_contain_text("span_text")
        page.screenshot(path=str(ARTIFACTS / "chat-api-docs.png"), full_page=True)
    finally:
        page.screenshot(path=str(ARTIFACTS / "chat-tools.png"), full_page=True)
        context.close()


def _serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page (rule: first offending elements)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]} {v['nodes'][0].get('failureSummary', '')[:200]}"
        for v in found
        if v.get("impact") in {"serious", "critical"}
    ]


@pytest.mark.parametrize(
    "theme,viewport",
    [("light", {"width": 1366, "height": 900}), ("dark", {"width": 390, "height": 844})],
    ids=["light-desktop", "dark-phone"],
)
def test_contrast_legend_search_and_undo_in_chromium(chat_url, browser, theme, viewport):
    """axe-core finds no serious or critical violation (contrast included) in light and dark mode, on a
    desktop and a phone; the confidence badge is explained; the article list finds names in the text;
    New chat can be undone."""
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, color_scheme=theme)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text[:200]) if m.type == "error" else None)
    try:
        page.goto(chat_url + ("?__theme=dark" if theme == "dark" else "?__theme=light"))
        box = page.locator("#aa-question textarea")
        box.wait_for(timeout=WAIT)
        if theme == "dark":
            expect(page.locator("body.dark, .dark").first).to_be_attached(timeout=WAIT)
        else:  # a phone opens at the title, not scrolled to the question box
            pass
        page.wait_for_timeout(600)
        assert page.evaluate("window.scrollY") < 40
        expect(page.locator(".aa-header h1")).to_be_in_viewport()

        answer = _ask(page, "Which states recognize Abkhazia?", 1)
        abstain = _ask(page, "What is the capital of France?", 2)
        expect(abstain).to_contain_text("Not found in the articles")
        chips = page.locator(".gallery-item").all_inner_texts()  # "Try asking" shows each question whole
        assert len(chips) == 4 and not any(c.rstrip().endswith(("...", "…")) for c in chips), chips
        _ask(page, "Karasin", 3)  # a one-word question stays on one line, not "karasi/n"
        word = page.locator("#aa-chat").get_by_text("Karasin", exact=True).first
        lines = word.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); "
            "return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }"
        )
        assert lines == 1, lines
        summary = _ask(page, "Summarize the article about Abkhazia", 4)  # several sentences, each cited
        sentences = summary.locator(".aa-sentence")
        assert sentences.count() >= 2 and all(
            sentences.nth(i).locator("a.aa-ref").count() == 1 for i in range(sentences.count())
        )
        sentences.nth(1).locator("a.aa-ref").click()
        expect(summary.locator("li.aa-cite details[open]")).to_have_count(1)
        summary.screenshot(path=str(ARTIFACTS / f"chat-multi-sentence-{theme}.png"))
        answer.locator(".aa-cite summary").first.click()
        badge = answer.locator(".aa-badge")
        assert "calibrated" in badge.get_attribute("title")
        page.locator("#aa-legend summary").click()
        expect(page.locator("#aa-legend")).to_contain_text("0.35")
        page.screenshot(path=str(ARTIFACTS / f"chat-{theme}-{viewport['width']}.png"), full_page=True)
        problems = _serious_violations(page)

        # the article list finds a name that only the text holds, and shows the passage
        page.get_by_role("tab", name="Articles").click()
        page.fill("#aa-filter textarea, #aa-filter input", "Nauru")
        listing = page.locator("#aa-articles")
        expect(listing).to_contain_text("1 match", timeout=WAIT)
        expect(listing.locator("mark.aa-hit").first).to_have_text("Nauru")
        page.screenshot(path=str(ARTIFACTS / f"chat-article-search-{theme}.png"), full_page=True)
        problems += _serious_violations(page)
        assert not problems, "\n".join(problems)

        # New chat clears at once and can be undone
        page.locator("#aa-clear").click()
        expect(page.locator("#aa-chat .aa-msg")).to_have_count(0, timeout=WAIT)
        expect(page.locator("#aa-undo")).to_be_visible(timeout=WAIT)
        page.screenshot(path=str(ARTIFACTS / f"chat-cleared-undo-{theme}.png"))
        page.locator("#aa-undo").click()
        expect(page.locator("#aa-chat .aa-msg")).to_have_count(4, timeout=WAIT)
        expect(page.locator("#aa-undo")).to_be_hidden(timeout=WAIT)
        assert not console_errors, console_errors
    finally:
        context.close()
