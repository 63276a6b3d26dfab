"""The JSON HTTP API on the chat's server, used with a plain HTTP client (httpx), and the request caps and
one-line errors of every route; plus the article search over the text, the kept conversation key and the
answer rendering the chat shows (several cited sentences, the confidence legend)."""

from __future__ import annotations

import logging
import shutil
import socket
from types import SimpleNamespace

import httpx
import pytest

from assistant.records import Answer, Article, Citation

from .conftest import SEED_ID
from .test_ui import MOON, SEED_QUESTION, free_port


def _serve(assistant, **launch_kw):
    from assistant.chat.app import build_app, launch

    demo = build_app(assistant)
    return demo, launch(demo, port=free_port(), block=False, **launch_kw).rstrip("/")


@pytest.fixture(scope="module")
def served(tmp_path_factory, seeds_index, embedder):
    from assistant import Assistant

    index = tmp_path_factory.mktemp("api") / "index"
    shutil.copytree(seeds_index, index, ignore=shutil.ignore_patterns(".lock"))
    assistant = Assistant.load(index, embedder=embedder)
    demo, url = _serve(assistant)
    yield SimpleNamespace(url=url, assistant=assistant, http=httpx.Client(base_url=url, timeout=120))
    demo.close()


def _one_line_error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and body["error"] and "\n" not in body["error"], body
    return body["error"]


# --- asking ----------------------------------------------------------------------------------------
def test_ask_over_plain_http_gives_the_answer_fields(served):
    r = served.http.post("/api/v1/ask", json={"question": SEED_QUESTION})
    assert r.status_code == 200, r.text
    ans = r.json()
    assert not ans["abstained"] and "Nauru" in ans["text"]
    assert {"confidence", "citations", "span_text", "search_query", "intent", "sentences", "notes"} <= set(ans)
    article = served.assistant.article(SEED_ID)
    for c in ans["citations"]:
        assert article.text[c["start"] : c["end"]] == c["quote"]
    follow = served.http.post(
        "/api/v1/ask", json={"question": "Which outlet did he talk to?", "history": ["Who is Gregory Karasin?"]}
    ).json()
    assert "Karasin" in follow["search_query"]


def test_api_errors_are_one_json_line_with_the_right_status_and_no_traceback(served, capfd, caplog):
    capfd.readouterr()
    with caplog.at_level(logging.WARNING, logger="assistant.chat"):
        assert "empty" in _one_line_error(served.http.post("/api/v1/ask", json={"question": " ?! "}), 400)
        bad_history = served.http.post("/api/v1/ask", json={"question": "Who?", "history": [{"foo": 1}]})
        assert "history item 1" in _one_line_error(bad_history, 400)
        assert "question" in _one_line_error(served.http.post("/api/v1/ask", json={"history": []}), 400)
        assert "question" in _one_line_error(served.http.post("/api/v1/ask", json={"question": ["x"]}), 400)
        not_json = served.http.post("/api/v1/ask", content=b"{oops", headers={"content-type": "application/json"})
        _one_line_error(not_json, 400)
        _one_line_error(served.http.get("/api/v1/nothing-here"), 404)
        _one_line_error(served.http.post("/api/v1/remove", json={"ids": [["a0000"]]}), 400)
        assert "no article with this id" in _one_line_error(served.http.delete("/api/v1/articles/nope"), 404)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("assistant.chat")]
    assert len(lines) >= 7 and all("\n" not in m for m in lines), lines
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name.startswith("assistant.chat"))


def test_gradio_api_errors_are_one_line_too(served, capfd, caplog):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(served.url + "/", verbose=False)
    capfd.readouterr()
    with caplog.at_level(logging.WARNING, logger="assistant.chat"):
        with pytest.raises(AppError, match="ids must be a list of article ids"):
            client.predict([["a0000"]], api_name="/remove_articles")
        with pytest.raises(AppError, match="history item 1"):
            client.predict("Who?", [{"foo": 1}], api_name="/ask")
        with pytest.raises(AppError, match="bad input"):  # not a file at all: Gradio's own check, one line too
            client.predict(5, api_name="/add_articles")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "unhashable" not in out + err
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("assistant.chat")]
    assert len(lines) == 3 and all(m.startswith("/") and "refused" in m for m in lines), lines


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def _post_declared(url: str, path: str, size: int, first: bytes = b'{"question": "') -> bytes:
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode()
            + first
        )
        reply = b""
        while b'"}' not in reply and (part := s.recv(4096)):
            reply += part
        return reply


def test_every_route_caps_the_request_body_and_memory_stays_flat_under_a_flood(served):
    for path in ("/api/v1/ask", "/gradio_api/queue/join", "/gradio_api/call/ask", "/gradio_api/run/ask"):
        reply = _post_declared(served.url, path, 50_000_000)
        assert reply.startswith(b"HTTP/1.1 413") and b'"error"' in reply, (path, reply[:200])
    # a streamed body without a declared length is cut off at the cap, not read to the end
    big = b'{"question": "' + b"x" * 3_000_000 + b'"}'
    r = httpx.post(served.url + "/api/v1/ask", content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]))
    assert "too large" in _one_line_error(r, 413)
    before = _rss_mb()
    for _ in range(20):  # 20 questions of 50 MB each: 1 GB declared, none of it held
        assert _post_declared(served.url, "/api/v1/ask", 50_000_000).startswith(b"HTTP/1.1 413")
        assert _post_declared(served.url, "/gradio_api/queue/join", 50_000_000).startswith(b"HTTP/1.1 413")
    assert _rss_mb() - before < 50
    # a question of the allowed length with a history still passes
    ok = served.http.post("/api/v1/ask", json={"question": "Who is Gregory Karasin? " * 100, "history": ["x"] * 24})
    assert ok.status_code == 200 and any("characters" in n for n in ok.json()["notes"])


# --- the article shelf over HTTP ---------------------------------------------------------------------
def test_search_articles_finds_names_in_the_text_with_the_matching_passage(served):
    r = served.http.get("/api/v1/articles", params={"q": "Nauru"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 1 and page["articles"][0]["id"] == SEED_ID
    hit = page["articles"][0]
    assert hit["matched"] == "text" and "Nauru" in hit["passage"]["text"]
    text = served.assistant.article(SEED_ID).text
    assert text[hit["passage"]["start"] : hit["passage"]["end"]] == hit["passage"]["text"]
    assert served.http.get("/api/v1/articles", params={"q": "zebra quagga"}).json()["total"] == 0
    everything = served.http.get("/api/v1/articles").json()
    assert everything["total"] == everything["indexed"] >= 1
    _one_line_error(served.http.get("/api/v1/articles", params={"per_page": 0}), 400)


def test_upload_and_remove_over_http(served, tmp_path):
    files = {"files": ("lunar base.txt", MOON.encode(), "text/plain")}
    r = served.http.post("/api/v1/upload", files=files)
    assert r.status_code == 200 and r.json()["added"] == ["lunar-base"], r.text
    ans = served.http.post("/api/v1/ask", json={"question": "How many researchers does the lunar base house?"}).json()
    assert "42" in ans["text"]
    refused = served.http.post("/api/v1/upload", files={"files": ("empty.txt", b"", "text/plain")})
    assert refused.status_code == 400 and "empty" in refused.json()["errors"][0]
    gone = served.http.delete("/api/v1/articles/lunar-base")
    assert gone.status_code == 200 and gone.json()["removed"] == ["lunar-base"]
    assert "lunar-base" not in {a["id"] for a in served.http.get("/api/v1/articles").json()["articles"]}


def test_a_page_elsewhere_cannot_change_the_index_through_a_browser(served):
    evil = {"Origin": "http://evil.example"}
    r = served.http.post("/api/v1/upload", files={"files": ("x.txt", MOON.encode(), "text/plain")}, headers=evil)
    assert "cross-site" in _one_line_error(r, 403)
    assert "cross-site" in _one_line_error(served.http.delete("/api/v1/articles/" + SEED_ID, headers=evil), 403)
    assert SEED_ID in {a["id"] for a in served.http.get("/api/v1/articles").json()["articles"]}
    same = {"Origin": served.url}  # the page itself
    assert served.http.post("/api/v1/ask", json={"question": SEED_QUESTION}, headers=same).status_code == 200


def test_openapi_schema_and_docs_page(served):
    schema = served.http.get("/api/openapi.json").json()
    assert {"/api/v1/ask", "/api/v1/articles", "/api/v1/upload", "/api/v1/remove"} <= set(schema["paths"])
    answer = schema["components"]["schemas"]["AnswerDict"]["properties"]
    assert {"text", "citations", "confidence", "sentences"} <= set(answer)
    docs = served.http.get("/api/docs")
    assert docs.status_code == 200 and "curl" in docs.text and "/api/v1/ask" in docs.text
    assert "<script" not in docs.text  # nothing fetched from elsewhere: works offline


def test_the_api_uses_the_same_login(served):
    from assistant.chat import access

    demo, url = _serve(served.assistant, auth=("ann", "s3cret pass"), login_delay=0.05)
    try:
        assert "log in" in _one_line_error(httpx.post(url + "/api/v1/ask", json={"question": SEED_QUESTION}), 401)
        wrong = httpx.post(url + "/api/v1/ask", json={"question": SEED_QUESTION}, auth=("ann", "guess"))
        assert "wrong user or password" in _one_line_error(wrong, 401)
        ok = httpx.post(url + "/api/v1/ask", json={"question": SEED_QUESTION}, auth=("ann", "s3cret pass"), timeout=60)
        assert ok.status_code == 200 and "Nauru" in ok.json()["text"]
        # a browser that logged in on the page may use the API with its cookie
        with httpx.Client(base_url=url, timeout=60) as browser:
            assert browser.post("/login", data={"username": "ann", "password": "s3cret pass"}).status_code == 200
            assert browser.get("/api/v1/articles").status_code == 200
    finally:
        demo.close()
    assert access.LOGIN_FAIL_DELAY == 0.5


# --- the chat's own pieces -----------------------------------------------------------------------------
def test_article_list_searches_the_text_and_shows_the_passage(seeds_assistant):
    from assistant.chat.service import ChatApp

    app = ChatApp(seeds_assistant)
    html, page = app.listing("Nauru")
    assert page == 0 and "1 match" in html and "In the text" in html
    assert '<mark class="aa-hit">Nauru</mark>' in html
    assert "No article mentions" in app.listing("zebra quagga")[0]
    by_title = app.search("withdraw recognition")
    assert by_title["articles"][0]["id"] == SEED_ID and by_title["articles"][0]["matched"] == "metadata"


def test_malformed_history_and_ids_are_refused_in_one_line(seeds_assistant):
    from assistant.chat.service import ChatApp
    from assistant.errors import AssistantError

    app = ChatApp(seeds_assistant)
    for history in ([{"foo": 1}], [3], [{"role": "user", "content": 5}], "not a list"):
        with pytest.raises(AssistantError):
            app.ask("Who is Gregory Karasin?", history)
    ok = [{"role": "user", "content": [{"type": "text", "text": "Who is Gregory Karasin?"}]}, "and he?"]
    assert app.ask("Which outlet did he talk to?", ok)["question"]
    with pytest.raises(AssistantError, match="ids must be a list"):
        app.remove([["a0000"]])


def test_the_conversation_key_is_kept_for_the_user_only(tmp_path, monkeypatch):
    from assistant.chat.keys import KEY_ENV, conversation_key

    path = tmp_path / "config" / "chat-key"
    monkeypatch.setenv(KEY_ENV, str(path))
    first = conversation_key()
    assert first and conversation_key() == first  # a restarted server reads the same key
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    assert conversation_key() == first and path.stat().st_mode & 0o777 == 0o600
    (tmp_path / "ro").mkdir(mode=0o500)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "ro" / "sub" / "key"))
    assert conversation_key() is None or (tmp_path / "ro" / "sub" / "key").exists()  # root may write anyway


def test_a_restarted_server_reads_the_stored_conversation(seeds_assistant, tmp_path, monkeypatch):
    from assistant.chat.app import build_app
    from assistant.chat.keys import KEY_ENV

    monkeypatch.setenv(KEY_ENV, str(tmp_path / "chat-key"))

    def secret(demo) -> str:
        state = [b for b in demo.blocks.values() if b.__class__.__name__ == "BrowserState"]
        return state[0].secret

    assert secret(build_app(seeds_assistant)) == secret(build_app(seeds_assistant))


def _multi() -> tuple[Answer, dict]:
    text = "The Selene base opened in 2031. It houses 42 researchers."
    art = Article("moon", "Moon", "\n\n".join(["The Selene base opened in 2031.", "It houses 42 researchers."]))
    a, b = art.text.index("The Selene"), art.text.index("It houses")
    c1 = Citation("moon", "Moon", "", "", a, a + 31, art.text[a : a + 31], 0.9)
    c2 = Citation("moon", "Moon", "", "", b, b + 25, art.text[b : b + 25], 0.8)
    other = Citation("moon", "Moon", "", "", a, a + 10, art.text[a : a + 10], 0.1)
    # citations strongest first (the second sentence scored higher), sentences in reading order
    ans = Answer(text, False, 0.82, [c2, c1, other], "What about the base?", "", None, {}, [], intent="summary")
    ans.sentences = [c1, c2]
    return ans, {"moon": art}


def test_an_answer_of_several_sentences_cites_each_one():
    from assistant.chat.render import answer_html, conversation_markdown, copy_text

    ans, arts = _multi()
    html = answer_html(ans, arts, turn=3)
    assert html.count('class="aa-sentence"') == 2
    first, second = html.split('class="aa-sentence"')[1:3]
    assert 'href="#aa-c3-1"' in first and 'href="#aa-c3-0"' in second  # each sentence links its own citation
    assert 'id="aa-c3-0"' in html and 'id="aa-c3-1"' in html
    assert "sentence 2 above" in html.split('id="aa-c3-0"')[1].split("</li>")[0]
    assert "1 more passage" in html and "summary" in html
    copied = copy_text(ans)
    assert "opened in 2031. [2] It houses 42 researchers. [1]" in copied and "[2] Moon" in copied
    markdown = conversation_markdown([(ans.question, ans, "")])
    assert "opened in 2031. [2] It houses 42 researchers. [1]" in markdown


def test_confidence_badge_follows_the_calibration_and_is_explained():
    from assistant.chat.render import CONFIDENCE_LEGEND, _confidence_badge, confidence_level

    assert confidence_level(0.85) == "high" and confidence_level(0.43) == "medium" and confidence_level(0.2) == "low"
    badge = _confidence_badge(0.43)
    assert "check the passage" in badge and "title=" in badge and "calibrated" in badge
    assert "0.35" in CONFIDENCE_LEGEND and "never saw" in CONFIDENCE_LEGEND


def test_header_answers_and_uploaded_sources_read_plainly():
    from assistant.chat.render import answer_html, source_label

    art = Article("a", "Title", "Body text here.", author="Ana Ruiz", source="upload:harbor-bridge.pdf")
    cite = Citation("a", "Title", art.source, "", 0, 8, "Ana Ruiz", 0.95, "Ana Ruiz", "author")
    ans = Answer("Ana Ruiz", False, 0.95, [cite], "Who wrote it?", "", None, {}, [])
    html = answer_html(ans, {"a": art})
    assert "the sentence above" not in html and "from the article header" in html
    assert source_label("upload:harbor-bridge.pdf") == "harbor-bridge.pdf"


def test_upload_progress_reaches_the_page_from_the_ingest_thread():
    import contextvars
    import threading

    from assistant.chat.layout import in_this_context

    request = contextvars.ContextVar("request", default=None)  # how Gradio finds the progress bar
    request.set("upload-1")
    seen: list = []
    report = in_this_context(lambda done, total: seen.append((request.get(), done, total)))
    worker = threading.Thread(target=lambda: [report(i, 3) for i in range(1, 4)])
    worker.start()
    worker.join()
    assert seen == [("upload-1", 1, 3), ("upload-1", 2, 3), ("upload-1", 3, 3)]


def test_ingest_help_names_every_format():
    from assistant.cli import _load_plugins, build_parser

    _load_plugins()
    help_text = build_parser().format_help()
    assert ".txt .md .html .jsonl .pdf .docx" in help_text
