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


def test_refused_uploads_leave_the_index_unchanged_and_a_mixed_batch_adds_the_good_files(app, client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    before = (app.assistant.index.generation, [a.id for a in app.assistant.articles()])
    png = tmp_path / "photo.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    *_, report, _ = client.predict([handle_file(str(png))], api_name="/add_articles")
    assert not report["ok"] and "photo.txt" in report["errors"][0]
    with pytest.raises(AppError, match="Invalid file type"):
        exe = tmp_path / "tool.exe"
        exe.write_bytes(b"MZ\x90\x00")
        client.predict([handle_file(str(exe))], api_name="/add_articles")
    assert (app.assistant.index.generation, [a.id for a in app.assistant.articles()]) == before
    # one empty file and one image in a batch do not keep the good file out: it is added, they are named
    empty = tmp_path / "empty.md"
    empty.write_text("")
    good = tmp_path / "good.txt"
    good.write_text(MOON.replace("Selene", "Luna"))
    files = [handle_file(str(p)) for p in (good, empty, png)]
    status, header, listing, report, _ = client.predict(files, api_name="/add_articles")
    assert report["ok"] and report["added"] == ["good"], report
    assert len(report["errors"]) == 2 and "empty" in report["errors"][0] and "photo.txt" in report["errors"][1]
    assert "2 files refused" in status and "aa-status-warn" in status and "empty.md" in status
    assert "good" in {a["id"] for a in client.predict(api_name="/articles")}


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
    assert set(demo.get_api_info()["named_endpoints"]) == {"/ask", "/articles", "/search_articles"}


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
        ("résumé 2024.jsonl", "résumé_2024.jsonl"),
        ("東京.txt", "東京.txt"),
        ("Москва отчёт.PDF", "Москва_отчёт.pdf"),
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


# --- issue 18: the chat like the API, PDF/Word, the shelf, limits --------------------------------
def _seed_follow_ups() -> list[dict]:
    import json

    from .conftest import ROOT

    rows = [json.loads(line) for line in (ROOT / "eval" / "seeds.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("history")]


def test_chat_follow_ups_answer_like_questions_only_history(seeds_assistant):
    """The chat path (assistant turns in its state) answers each seed follow-up exactly as /ask does
    with the earlier questions alone."""
    from assistant.chat.app import ChatApp

    chat = ChatApp(seeds_assistant)
    follow_ups = _seed_follow_ups()
    assert len(follow_ups) >= 10
    asked: dict[tuple, dict] = {}
    for row in follow_ups:
        questions = [h if isinstance(h, str) else h["content"] for h in row["history"]]
        questions = [q for q, h in zip(questions, row["history"]) if isinstance(h, str) or h["role"] == "user"]
        turns: list = []
        for n, earlier in enumerate(questions):  # the same opening question is answered once
            key = tuple(questions[: n + 1])
            if key not in asked:
                asked[key] = chat.answer_turn(earlier, turns)
            turns.append(asked[key])
        assert all("answer" in t and t["answer"]["text"] for t in turns)  # the answers are in the state
        got = chat.answer_turn(row["question"], turns)["answer"]
        want = seeds_assistant.ask(row["question"], history=questions).to_dict()
        assert (got["text"], got["span"], got["abstained"]) == (want["text"], want["span"], want["abstained"]), row[
            "id"
        ]
        assert [(c["article_id"], c["start"]) for c in got["citations"]] == [
            (c["article_id"], c["start"]) for c in want["citations"]
        ]
        assert got["search_query"] == want["search_query"]


def test_pdf_and_docx_uploads_cite_pages_and_keep_bylines(app, client, tmp_path):
    from gradio_client import handle_file

    from assistant.chat.render import answer_html

    from .test_readers import BRIDGE_PAGES, make_notice_docx, make_pdf

    pdf = make_pdf(tmp_path / "harbor-report.pdf", BRIDGE_PAGES)
    word = tmp_path / "tunnel-notice.docx"
    make_notice_docx(word)
    scan = tmp_path / "scan.pdf"
    from fpdf import FPDF

    blank = FPDF()
    blank.add_page()
    blank.output(str(scan))
    *_, report, _ = client.predict([handle_file(str(p)) for p in (pdf, word, scan)], api_name="/add_articles")
    assert report["ok"] and sorted(report["added"]) == ["harbor-report", "tunnel-notice"], report
    assert any("scan.pdf" in e and "no text layer" in e for e in report["errors"])
    listed = {a["id"]: a for a in client.predict(api_name="/articles")}
    assert (listed["harbor-report"]["author"], listed["harbor-report"]["date"]) == ("Talia Okonkwo-Reyes", "2031-03-14")
    assert listed["tunnel-notice"]["author"] == "Mira Castell"
    ans = client.predict("Who designed the Harbor Bridge?", [], api_name="/ask")
    assert "Mira Castell" in ans["text"]
    top = ans["citations"][0]
    assert top["article_id"] == "harbor-report" and top["page"] == 2
    article = app.assistant.article("harbor-report")
    assert article.text[top["start"] : top["end"]] == top["quote"]
    from assistant.records import Answer

    html = answer_html(Answer.from_dict(ans), {"harbor-report": article}, turn=0)
    assert "p. 2" in html
    other = client.predict("When does the river tunnel close?", [], api_name="/ask")
    assert other["citations"][0]["article_id"] == "tunnel-notice" and other["citations"][0]["page"] is None


def test_upload_names_collide_only_by_choice_and_non_latin_names_are_kept(app, client, tmp_path):
    from gradio_client import handle_file

    tokyo, beijing = tmp_path / "東京.txt", tmp_path / "北京.txt"
    tokyo.write_text("Tokyo harbor\n\nThe Tokyo harbor ferry carries 900 passengers a day.\n")
    beijing.write_text("Beijing rail\n\nThe Beijing rail link opened with 12 stations.\n")
    *_, report, _ = client.predict([handle_file(str(tokyo)), handle_file(str(beijing))], api_name="/add_articles")
    assert report["ok"] and sorted(report["added"]) == ["北京", "東京"], report
    # a different file with the name of an indexed article: both kept, and the report says so
    seed_like = tmp_path / f"{SEED_ID}.txt"
    seed_like.write_text("Other article\n\nA different article that happens to share the seed's file name.\n")
    status, *_, report, _ = client.predict([handle_file(str(seed_like))], api_name="/add_articles")
    assert report["added"] == [f"{SEED_ID}-2"] and report["renamed"][0]["existing"] == SEED_ID
    assert "both are kept" in status
    assert "Nauru" in client.predict(SEED_QUESTION, [], api_name="/ask")["text"]  # the seed is still there
    # the same file again is unchanged; a changed one replaces only when asked to
    *_, report, _ = client.predict([handle_file(str(tokyo))], api_name="/add_articles")
    assert report["unchanged"] == ["東京"] and not report["renamed"]
    tokyo.write_text("Tokyo harbor\n\nThe Tokyo harbor ferry now carries 1,200 passengers a day.\n")
    *_, report, _ = client.predict([handle_file(str(tokyo))], True, api_name="/add_articles")
    assert report["updated"] == ["東京"] and report["replaced"] == ["東京"]
    ans = client.predict("How many passengers does the Tokyo harbor ferry carry?", [], api_name="/ask")
    assert "1,200" in ans["text"]


def test_remove_articles_endpoint_and_searchable_paged_list(app, client, tmp_path):
    from gradio_client import handle_file

    from assistant.chat.render import articles_html

    doomed = tmp_path / "doomed.txt"
    doomed.write_text("Doomed report\n\nThe doomed lighthouse of Karsk has 300 steps.\n")
    client.predict([handle_file(str(doomed))], api_name="/add_articles")
    assert "doomed" in {a["id"] for a in client.predict(api_name="/articles")}
    result = client.predict(["doomed", "no-such-article"], api_name="/remove_articles")
    assert result["ok"] and result["removed"] == ["doomed"]
    assert result["errors"] == ["no-such-article: no article with this id"]
    assert "doomed" not in {a["id"] for a in client.predict(api_name="/articles")}
    ans = client.predict("How many steps does the lighthouse of Karsk have?", [], api_name="/ask")
    assert all(c["article_id"] != "doomed" for c in ans["citations"])
    nothing = client.predict([], api_name="/remove_articles")
    assert not nothing["ok"] and nothing["removed"] == []
    # the list: searchable, paged
    many = [Article(f"a{i:03d}", f"Report {i}", "", author="Ana Ruiz" if i % 2 else "Li Wei") for i in range(60)]
    first = articles_html(many, per_page=25)
    assert first.count("<li>") == 25 and "page 1 of 3" in first and "60 articles" in first
    last = articles_html(many, page=9, per_page=25)  # clamped to the last page
    assert last.count("<li>") == 10 and "page 3 of 3" in last
    found = articles_html(many, query="li wei report 1")
    assert "matches" in found and "a010" in found and "a011" not in found
    assert "No article matches" in articles_html(many, query="zebra")


def test_upload_route_limits_count_and_size(app):
    import asyncio
    import socket as socket_

    import httpx

    from assistant.chat.app import UploadLimit

    url = app.url.rstrip("/") + "/gradio_api/upload"
    too_many = [("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(60)]
    r = httpx.post(url, files=too_many, timeout=60)
    assert r.status_code == 413 and "too many files" in r.text
    host, port = app.url.split("//")[1].rstrip("/").split(":")
    with socket_.create_connection((host, int(port)), timeout=30) as s:  # a declared 10 GB body
        s.sendall(
            b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 10000000000\r\n\r\n--b\r\n"
        )
        assert s.recv(4096).startswith(b"HTTP/1.1 413")
    ok = httpx.post(url, files=[("files", ("a.txt", b"hello", "text/plain"))], timeout=60)
    assert ok.status_code == 200 and len(ok.json()) == 1

    # a streamed body without a length is cut off once it passes the limit
    async def run(chunks):
        seen, sent = [], []

        async def inner(scope, receive, send):
            while (m := await receive())["type"] == "http.request":
                seen.append(m["body"])
                if not m.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        feed = iter([{"type": "http.request", "body": c, "more_body": True} for c in chunks])

        async def receive():
            return next(feed, {"type": "http.request", "body": b"", "more_body": False})

        async def send(m):
            sent.append(m)

        scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "headers": []}
        await UploadLimit(inner, max_files=3, max_bytes=1000)(scope, receive, send)
        return seen, sent[0]["status"]

    seen, code = asyncio.run(run([b"x" * 400] * 5))
    assert code == 413 and len(seen) == 2  # the third chunk passes 1000 bytes: refused, not read on
    assert asyncio.run(run([b"x" * 400] * 2))[1] == 200


def test_failed_logins_are_slowed_down(app, monkeypatch):
    import time

    import httpx

    import assistant.chat.access as chat_access

    monkeypatch.setattr(chat_access, "LOGIN_FAIL_DELAY", 0.2)
    demo, url = start(app.assistant, auth=("ann", "s3cret"))
    try:
        t0 = time.perf_counter()
        for _ in range(4):
            r = httpx.post(url + "login", data={"username": "ann", "password": "guess"}, timeout=60)
            assert r.status_code == 400
        slow = time.perf_counter() - t0
        assert slow >= 0.2 + 0.4 + 0.8 + 1.6 - 0.1, slow  # each failure waits longer
        t0 = time.perf_counter()
        assert httpx.post(url + "login", data={"username": "ann", "password": "s3cret"}, timeout=60).status_code == 200
        assert time.perf_counter() - t0 < 1.0  # a right password is not delayed
    finally:
        demo.close()


def test_api_errors_are_one_line_in_the_log(client, capfd, caplog):
    import logging

    from gradio_client.exceptions import AppError

    capfd.readouterr()
    with caplog.at_level(logging.WARNING, logger="assistant.chat"):
        with pytest.raises(AppError):
            client.predict("", [], api_name="/ask")
        with pytest.raises(AppError):
            client.predict("Who?", "not a list", api_name="/ask")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("assistant.chat")]
    assert len(lines) == 2 and all("\n" not in m and m.startswith("/ask refused") for m in lines), lines


def test_ask_schema_is_typed_and_one_question_limit(app, client):
    from assistant.chat.app import build_app

    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    schema = api["/ask"]["returns"][0]["type"]
    assert schema["type"] == "object" and {"text", "citations", "confidence", "span_text"} <= set(schema["properties"])
    cite = schema["properties"]["citations"]["items"]["properties"]
    assert cite["start"] == {"type": "integer"} and "page" in cite and cite["quote"] == {"type": "string"}
    assert api["/remove_articles"]["returns"][0]["type"]["properties"]["removed"]["type"] == "array"
    limit = app.assistant.settings.max_question_chars
    box = [
        c for c in build_app(app.assistant).config["components"] if c.get("props", {}).get("elem_id") == "aa-question"
    ]
    # a longer paste is taken (not cut silently at the box); the answer says only the start was used
    assert box[0]["props"]["max_length"] > limit and f"{limit:,}" in box[0]["props"]["placeholder"]
    long = "Which states recognize Abkhazia? " + "x" * (limit + 500)
    ans = client.predict(long, [], api_name="/ask")
    assert f"first {limit} characters" in " ".join(ans["notes"])


def test_conversation_export_sources_grouping_and_folded_search(seeds_assistant):
    from assistant.chat.app import ChatApp
    from assistant.chat.render import WEAK_SCORE, searched_html

    chat = ChatApp(seeds_assistant)
    turns: list = []
    for q in ("Who is Gregory Karasin?", "Which ties did he say were restored?", "What is the capital of Peru?", "  "):
        _, _, turns, _ = chat.respond(q, [], turns) if q.strip() else ("", [], turns, "")
    assert [t["question"] for t in turns] == [
        "Who is Gregory Karasin?",
        "Which ties did he say were restored?",
        "What is the capital of Peru?",
    ]
    messages = chat.chat_messages(turns)
    assert (
        len(messages) == 6 and 'href="#aa-c1-0"' in messages[3]["content"] and 'id="aa-c1-0"' in messages[3]["content"]
    )
    assert 'class="aa-copy"' in messages[1]["content"] and 'class="aa-copy-text"' in messages[1]["content"]
    panel = chat.sources(turns)
    groups = panel.split('class="aa-group"')[1:]
    assert len(groups) == 3 and "Question 3" in groups[0] and "Question 1" in groups[2]  # newest first
    weak = 0
    for t in turns:
        scores = [c["score"] for c in t["answer"]["citations"]]
        weak += sum(s < WEAK_SCORE or s < 0.25 * max(scores) for s in scores)
    assert weak > 0 and panel.count('class="aa-card aa-weak"') == weak and panel.count("weak match") == weak
    follow = turns[1]["answer"]
    folded = searched_html(Answer.from_dict(follow))
    assert folded.startswith("<details") and "Karasin" in folded and "<summary>" in folded
    md = open(chat.export(turns), encoding="utf-8").read()
    assert md.startswith("# Conversation") and "## 2. Which ties did he say were restored?" in md
    assert "trade ties" in md and SEED_ID in md and "> " in md and "Not found in the articles" in md
    # a stored conversation round-trips (what the browser keeps) and junk in storage is ignored
    junk = [{"junk": 1}, 5, {"question": "q", "answer": {"citations": [{"start": "x"}]}}]
    junk.append({"question": "q", "answer": {"text": "t", "confidence": "high"}})
    assert chat.chat_messages([*junk, *turns]) == messages
    assert Answer.from_dict(turns[0]["answer"]).to_dict() == turns[0]["answer"]


def test_header_field_citations_show_the_header_not_a_stale_passage():
    from assistant.chat.render import answer_html, sources_html

    art = Article("a", "Bridge", "The bridge opened.", author="Talia Okonkwo-Reyes", date="2031-03-14")
    cite = Citation("a", "Bridge", "", art.date, 0, len(art.author), art.author, 0.95, art.author, field="author")
    ans = Answer(art.author, False, 0.95, [cite], "Who wrote it?", "Who wrote it?", (0, len(art.author)))
    for page in (answer_html(ans, {"a": art}, turn=0), sources_html(ans, {"a": art})):
        assert "From the article header · Byline" in page and "out of date" not in page
        assert '<mark class="aa-quote">Talia Okonkwo-Reyes</mark>' in page
    cite.start = 1  # offsets that no longer match are still flagged
    assert "out of date" in sources_html(ans, {"a": art})
