"""The chat app, started on a free local port over a copy of the seeds index and used through
``gradio_client`` the way a script would; plus the escaping, offsets, upload and access rules."""

from __future__ import annotations

import argparse
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from assistant.chat.app import (
    AUTH_ENV,
    chat_options,
    check_uploads,
    is_loopback,
    parse_auth,
    sanitize_filename,
)
from assistant.chat.render import answer_html, articles_html, highlighted_context, sources_html
from assistant.records import Answer, Article, Citation

from .conftest import SEED_ID

SEED_QUESTION = "Which states recognize Abkhazia?"
MOON = """Selene lunar base report
By Ana Ruiz
March 3, 2031

The Selene lunar base was completed in 2031 by the Artemis consortium after six years of construction.

The base houses 42 researchers from eleven countries.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(assistant, **launch_kw):
    from assistant.chat.app import build_app, launch

    demo = build_app(assistant)
    url = launch(demo, port=free_port(), block=False, **launch_kw)
    return demo, url


@pytest.fixture(scope="module")
def app(tmp_path_factory, seeds_index, embedder):
    """The chat over a private copy of the seeds index (uploads change it)."""
    from assistant import Assistant

    index = tmp_path_factory.mktemp("ui") / "index"
    shutil.copytree(seeds_index, index, ignore=shutil.ignore_patterns(".lock"))
    assistant = Assistant.load(index, embedder=embedder)
    demo, url = start(assistant)
    yield SimpleNamespace(url=url, assistant=assistant)
    demo.close()


@pytest.fixture(scope="module")
def client(app):
    from gradio_client import Client

    return Client(app.url, verbose=False)


# --- the API over HTTP ----------------------------------------------------------------------------
def test_url_is_local_and_the_api_lists_ask(app, client):
    assert app.url.startswith("http://127.0.0.1:")
    api = client.view_api(print_info=False, return_format="dict")
    assert {"/ask", "/articles", "/add_articles"} <= set(api["named_endpoints"])


def test_ask_and_follow_up_over_the_api(app, client):
    ans = client.predict(SEED_QUESTION, [], api_name="/ask")
    assert not ans["abstained"]
    assert "Nauru" in ans["text"]
    article = app.assistant.article(SEED_ID)
    for c in ans["citations"]:
        assert c["article_id"] == SEED_ID
        assert article.text[c["start"] : c["end"]] == c["quote"]
    assert ans["text"] in ans["citations"][0]["quote"]

    first = client.predict("Who is Gregory Karasin?", [], api_name="/ask")
    history = [{"role": "user", "content": "Who is Gregory Karasin?"}, {"role": "assistant", "content": first["text"]}]
    follow = client.predict("Which outlet did he talk to?", history, api_name="/ask")
    alone = client.predict("Which outlet did he talk to?", [], api_name="/ask")
    assert "Karasin" in follow["search_query"]  # the follow-up searched with the conversation
    assert alone["search_query"] == alone["question"]
    assert follow["citations"] and all(c["article_id"] == SEED_ID for c in follow["citations"])
    # earlier questions as plain strings work too
    also = client.predict("Which outlet did he talk to?", ["Who is Gregory Karasin?"], api_name="/ask")
    assert "Karasin" in also["search_query"]


def test_empty_question_gets_a_clear_error(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="empty"):
        client.predict("  ?! ", [], api_name="/ask")


def test_concurrent_questions_get_the_same_answers(client):
    questions = [SEED_QUESTION, "Who is Gregory Karasin?", "What is the capital of France?"] * 3
    expected = {q: client.predict(q, [], api_name="/ask") for q in set(questions)}
    jobs = [client.submit(q, [], api_name="/ask") for q in questions]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda j: j.result(timeout=120), jobs))
    for q, r in zip(questions, results):
        assert (r["text"], r["abstained"], r["citations"]) == (
            expected[q]["text"],
            expected[q]["abstained"],
            expected[q]["citations"],
        )


def test_upload_is_answerable_at_once_and_listed(app, client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "selene base.txt"
    path.write_text(MOON, encoding="utf-8")
    status, header, listing, report, _files = client.predict([handle_file(str(path))], api_name="/add_articles")
    assert report["ok"] and report["added"] == ["selene-base"], report
    assert "1 added" in status and "Selene lunar base report" in listing
    assert "2 articles" in header
    ans = client.predict("How many researchers does the lunar base house?", [], api_name="/ask")
    assert "42" in ans["text"] and ans["citations"][0]["article_id"] == "selene-base"
    listed = {a["id"]: a for a in client.predict(api_name="/articles")}
    assert listed["selene-base"]["source"] == "upload:selene_base.txt"  # sanitised name, not a deleted temp path
    assert ans["citations"][0]["source"] == "upload:selene_base.txt"


def test_failed_uploads_leave_the_index_unchanged(app, client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    before = (app.assistant.index.generation, [a.id for a in app.assistant.articles()])
    png = tmp_path / "photo.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    *_, report, _ = client.predict([handle_file(str(png))], api_name="/add_articles")
    assert not report["ok"] and "photo.txt" in report["errors"][0]
    empty = tmp_path / "empty.md"
    empty.write_text("")
    good = tmp_path / "good.txt"
    good.write_text(MOON.replace("Selene", "Luna"))
    status, *_, report, _ = client.predict([handle_file(str(good)), handle_file(str(empty))], api_name="/add_articles")
    assert not report["ok"] and "empty" in report["errors"][0] and "Nothing was added" in status
    with pytest.raises(AppError, match="Invalid file type"):
        exe = tmp_path / "tool.exe"
        exe.write_bytes(b"MZ\x90\x00")
        client.predict([handle_file(str(exe))], api_name="/add_articles")
    assert (app.assistant.index.generation, [a.id for a in app.assistant.articles()]) == before


def test_login_is_required_when_set(app):
    from gradio_client import Client

    demo, url = start(app.assistant, auth=("ann", "s3cret pass"))
    try:
        with pytest.raises(ValueError, match="credentials were not provided"):
            Client(url, verbose=False).predict(api_name="/articles")
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("ann", "wrong"), verbose=False)
        rows = Client(url, auth=("ann", "s3cret pass"), verbose=False).predict(api_name="/articles")
        assert SEED_ID in {r["id"] for r in rows}
    finally:
        demo.close()


def test_read_only_chat_has_no_upload_endpoint(app):
    from assistant.chat.app import build_app

    demo = build_app(app.assistant, allow_upload=False)
    assert set(demo.get_api_info()["named_endpoints"]) == {"/ask", "/articles"}


# --- access options ----------------------------------------------------------------------------
def _chat_args(argv: list[str]) -> argparse.Namespace:
    from assistant.cli import _load_plugins, build_parser

    _load_plugins()
    return build_parser().parse_args(["chat", *argv])


def test_chat_binds_locally_without_share_or_login_by_default(monkeypatch):
    monkeypatch.delenv(AUTH_ENV, raising=False)
    opts = chat_options(_chat_args([]))
    assert opts == {"host": "127.0.0.1", "port": None, "share": False, "auth": None}
    opts = chat_options(_chat_args(["--host", "0.0.0.0", "--share", "--auth", "ann:pw:with:colons"]))
    assert opts["host"] == "0.0.0.0" and opts["share"] and opts["auth"] == ("ann", "pw:with:colons")


def test_login_from_environment_and_bad_values(monkeypatch):
    from assistant.errors import AssistantError

    monkeypatch.setenv(AUTH_ENV, "bob:hunter2")
    assert chat_options(_chat_args([]))["auth"] == ("bob", "hunter2")
    assert chat_options(_chat_args(["--auth", "ann:x"]))["auth"] == ("ann", "x")  # the flag wins
    for bad in ("nopassword", "user:", ":pw"):
        with pytest.raises(AssistantError, match="user:password"):
            parse_auth(bad)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


# --- uploads -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.MD", "evil.md"),
        (".hidden.html", "hidden.html"),
        ("a b<c>;rm -rf.txt", "a_b_c_rm_-rf.txt"),
        ("..", None),
        ("noext", None),
        ("résumé 2024.jsonl", "r_sum_2024.jsonl"),
    ],
)
def test_upload_names_are_sanitised(name, safe):
    assert sanitize_filename(name) == safe


def test_upload_checks_type_size_and_emptiness(tmp_path):
    ok = tmp_path / "a.txt"
    ok.write_text("Title\n\nSome text.")
    same = tmp_path / "sub" / "a.txt"
    same.parent.mkdir()
    same.write_text("Other\n\nMore text.")
    big = tmp_path / "big.md"
    big.write_text("x" * 2000)
    empty = tmp_path / "e.html"
    empty.write_text("")
    exe = tmp_path / "run.sh"
    exe.write_text("echo hi")
    check = check_uploads([ok, same, big, empty, exe], max_bytes=1000)
    assert [name for _, name in check.accepted] == ["a.txt", "a-2.txt"]
    assert len(check.errors) == 3
    assert "larger than" in check.errors[0] and "empty" in check.errors[1] and "not an accepted type" in check.errors[2]
    assert "limit" in check_uploads([ok] * 3, max_bytes=1000, max_files=2).errors[0]


# --- rendering: escaped text, offsets ----------------------------------------------------------
HOSTILE = (
    'Intro.\n\nThe <script>window.__x=1</script> base has <img src=x onerror="alert(1)"> '
    "[42 rooms](javascript:alert(2)) and ${alert(3)}.\n\nThe base has 42 rooms."
)


def _answer(article: Article, start: int, end: int, abstained: bool = False) -> Answer:
    quote = article.text[start:end]
    cite = Citation(article.id, article.title, "/srv/secret/path/evil.txt", "2031", start, end, quote, 0.9, "<b>me</b>")
    return Answer(quote, abstained, 0.9, [cite], "q?", "q?", None if abstained else (0, 3))


def test_article_and_user_text_is_escaped():
    art = Article("evil", "<img src=x onerror=alert(9)>Title", HOSTILE)
    start = HOSTILE.index("The <script>")
    end = HOSTILE.index("\n\nThe base has 42")
    for ans in (_answer(art, start, end), _answer(art, start, end, abstained=True)):
        for page in (answer_html(ans, {"evil": art}), sources_html(ans, {"evil": art})):
            assert "<script" not in page and "<img" not in page and "<b>" not in page
            assert "javascript:alert" in page and 'href="javascript' not in page
            assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in page
            assert "/srv/secret" not in page
    assert "<img" not in articles_html([art]) and "&lt;img" in articles_html([art])
    assert "Not found in the articles" in answer_html(_answer(art, start, end, abstained=True), {"evil": art})


def test_quotes_are_highlighted_by_offsets_not_by_search():
    text = "Alpha said no.\n\nThe base has 42 rooms. Later: The base has 42 rooms."
    art = Article("twice", "Twice", text)
    second = text.rindex("The base has 42 rooms.")
    html = highlighted_context(art, second, second + len("The base has 42 rooms."))
    before, marked = html.split('<mark class="aa-quote">')
    assert "The base has 42 rooms. Later:" in before  # the first occurrence is context, not the quote
    # an answer whose offsets no longer match the article is flagged, never re-found by searching
    stale = _answer(art, second, second + len("The base has 42 rooms."))
    stale.citations[0].start += 1
    assert "out of date" in sources_html(stale, {"twice": art})


def test_reported_speech_is_not_wrapped_in_a_second_pair_of_quotes():
    text = "Intro.\n\n“We are pleased,” Karasin said. Russia simplified visas."
    art = Article("speech", "Speech", text)
    said = text.index("“We")
    plain = text.index("Russia simplified")
    ans = _answer(art, said, said + len("“We are pleased,” Karasin said."), abstained=True)
    ans.citations.append(Citation("speech", "Speech", "", "", plain, len(text), text[plain:], 0.5))
    page = answer_html(ans, {"speech": art})
    assert '<span class="aa-q">“We are pleased,” Karasin said.</span>' in page  # its own marks only
    assert '<q class="aa-q">Russia simplified visas.</q>' in page  # <q> adds the marks
    assert ans.citations[0].has_own_quotes and not ans.citations[1].has_own_quotes
