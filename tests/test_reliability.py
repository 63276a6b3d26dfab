"""Bad input, crashes, concurrent use and tampering: the assistant keeps working and loses nothing.

Most index-level tests use the deterministic ``HashEmbedder`` (tests/hash_embedder.py): what is
under test is the index code, and it keeps each test to a second or two. Question tests use the
real model through the session ``seeds_assistant``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.cli import main as cli_main
from assistant.errors import EmptyQuestionError, IndexBusyError, IndexCorruptError, IngestError
from assistant.ingest.pipeline import ingest_articles, ingest_paths
from assistant.ingest.readers import MAX_FILE_BYTES, read_paths
from assistant.storage.generations import IndexDir
from assistant.storage.index import Index

from .conftest import ROOT, SEED_ID
from .hash_embedder import HashEmbedder, ingest_child, make_article, town_articles

ABKHAZIA = "Which states recognize Abkhazia?"


# --- helpers ---------------------------------------------------------------------------------
def snapshot(index_dir: Path) -> tuple[str | None, dict]:
    """(live generation, {article id: content hash}) — what "the index is unchanged" compares."""
    folder = IndexDir(index_dir)
    if not folder.exists():
        return None, {}
    return folder.current_name(), dict(folder.read_manifest()["articles"])


def check_consistent(index: Index) -> None:
    """Manifest, store, FAISS and BM25 describe the same corpus."""
    counts = index.manifest["counts"]
    stored = {a.id: a.content_hash for a in index.store.articles()}
    assert stored == index.manifest["articles"]
    assert counts["articles"] == len(stored)
    assert len(index.dense) == counts["chunks"] == len(index.lexical) == index.store.count("chunks")


@pytest.fixture
def hash_index(tmp_path) -> Path:
    """A small index of 12 town articles built with the HashEmbedder."""
    path = tmp_path / "hindex"
    ingest_articles(path, town_articles("a", 12), HashEmbedder())
    return path


# --- questions -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question", ["", "   \n\t  ", "?!...;:", "\x00\x01\x1b[31m\x7f", "🙂 🙃", "\u200b\u202e", None, 42, ["q"]]
)
def test_questions_without_words_get_a_clear_message(seeds_assistant, question):
    with pytest.raises(EmptyQuestionError, match="question"):
        seeds_assistant.ask(question)


def test_empty_question_on_the_command_line_is_one_line_and_status_1(capsys):
    assert cli_main(["ask", "  ?? "]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "empty" in err and "\n" not in err


def test_huge_question_is_truncated_with_a_note(seeds_assistant):
    limit = seeds_assistant.settings.max_question_chars
    question = (ABKHAZIA + " ") * (100_000 // (len(ABKHAZIA) + 1) + 1)
    assert len(question) > 100_000
    ans = seeds_assistant.ask(question)
    assert any("truncated" in n and str(limit) in n for n in ans.notes)
    assert len(ans.question) <= limit and len(ans.search_query) <= 2 * limit
    assert ans.citations and ans.citations[0].article_id == SEED_ID  # the passage is found (answered or shown)
    # A 100,000-character word is bounded the same way.
    ans = seeds_assistant.ask("x" * 100_000)
    assert any("truncated" in n for n in ans.notes) and len(ans.question) <= limit


def test_huge_history_is_bounded(seeds_assistant):
    limit = seeds_assistant.settings.max_question_chars
    history = ["Who is Gregory Karasin? " * 5000, {"role": "assistant", "content": "Abkhazia " * 20000}] * 30
    ans = seeds_assistant.ask("Who did he talk to?", history=history)
    assert len(ans.search_query) <= 4 * limit


def test_control_characters_and_invisible_marks_are_cleaned(seeds_assistant):
    plain = seeds_assistant.ask(ABKHAZIA)
    ans = seeds_assistant.ask("Which\x00 states\x1b recognize\x85 \u202eAbkhazia?\x7f\ud800")
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202e]", ans.question)
    assert ans.question == plain.question
    assert ans.text == plain.text


@pytest.mark.parametrize(
    "question",
    [
        "Какие государства признали Абхазию?",
        "哪些国家承认阿布哈兹？",
        "ما هي الدول التي تعترف بأبخازيا؟",
        "अबखाज़िया को कौन से देश मान्यता देते हैं?",
        "アブハジアを承認している国はどこですか",
        "Welche Staaten erkennen Abchasien an? 🙂",
    ],
)
def test_other_languages_and_scripts_get_an_answer_or_an_honest_abstention(seeds_assistant, question):
    ans = seeds_assistant.ask(question)
    article = seeds_assistant.article(SEED_ID).text
    if not ans.abstained:
        assert ans.text in {c.quote for c in ans.citations}
    for c in ans.citations:
        assert article[c.start : c.end] == c.quote
    json.dumps(ans.to_dict(), ensure_ascii=False)  # serialisable for the UI / --json


# --- files -----------------------------------------------------------------------------------
def _bad_files(folder: Path) -> dict[str, str]:
    """Write one bad input of each kind; returns {file name: words its warning must contain}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(256))
    (folder / "renamed-image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(256))
    (folder / "report.txt").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + os.urandom(512).replace(b"\x00", b"\x01"))
    rnd = random.Random(7)
    (folder / "noise.md").write_bytes(bytes(rnd.randrange(1, 256) for _ in range(4096)))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("   \n\n\t\n")
    (folder / "front-matter-only.md").write_text("---\ntitle: Nothing here\n---\n")
    (folder / "only-chrome.html").write_text(
        "<html><head><script>var a=1;</script></head><body><nav><a href='/'>Home</a></nav>"
        "<script>track()</script><footer>© 2024</footer></body></html>"
    )
    (folder / "broken.jsonl").write_text('{"id": "x", "text": \n[1, 2]\n{"id": "y", "text": ""}\n')
    os.symlink("loop-b.txt", folder / "loop-a.txt")
    os.symlink("loop-a.txt", folder / "loop-b.txt")
    os.symlink("missing-target.txt", folder / "dangling.txt")
    os.mkfifo(folder / "pipe.txt")  # a named pipe must not hang the ingest
    with open(folder / "huge.txt", "wb") as f:  # sparse: costs no disk
        f.truncate(MAX_FILE_BYTES + 1)
    return {
        "photo.png": "not a supported type",
        "renamed-image.txt": "PNG image",
        "report.txt": "PDF",
        "noise.md": "binary",
        "empty.txt": "empty",
        "blank.md": "no article text",
        "front-matter-only.md": "no article text",
        "only-chrome.html": "no article text",
        "broken.jsonl:1": "not valid JSON",
        "broken.jsonl:2": '"text"',
        "broken.jsonl:3": '"text"',
        "loop-a.txt": "symbolic link loop",
        "loop-b.txt": "symbolic link loop",
        "dangling.txt": "broken symbolic link",
        "pipe.txt": "not a regular file",
        "huge.txt": "larger than",
    }


def test_each_bad_file_is_skipped_with_a_clear_warning(tmp_path):
    expected = _bad_files(tmp_path / "bad")
    report = read_paths([tmp_path / "bad"])
    assert report.articles == []
    for name, words in expected.items():
        hits = [w for w in report.warnings if f"/{name}:" in w]
        assert hits, f"no warning for {name}: {report.warnings}"
        assert any(words in w for w in hits), (name, hits)


def test_only_bad_files_leave_the_index_unchanged(hash_index, tmp_path):
    _bad_files(tmp_path / "bad")
    before = snapshot(hash_index)
    with pytest.raises(IngestError, match="no articles could be read"):
        ingest_paths(hash_index, [tmp_path / "bad"], HashEmbedder())
    assert snapshot(hash_index) == before
    check_consistent(Index.load(hash_index))


def test_bad_files_beside_good_ones_do_not_stop_the_good_ones(hash_index, tmp_path):
    folder = tmp_path / "mixed"
    _bad_files(folder)
    (folder / "latin.txt").write_bytes("Café owners in Arden protested on Friday in the old town.".encode("cp1252"))
    (folder / "good.md").write_text("# Lighthouse\n\nThe lighthouse keeper of Colm is Rui Costa.\n")
    before = snapshot(hash_index)[1]
    report = ingest_paths(hash_index, [folder], HashEmbedder())
    assert sorted(report.added) == ["good", "latin"]
    assert any("latin.txt" in w and "not valid UTF-8" in w for w in report.warnings)
    index = Index.load(hash_index)
    assert "Café owners" in index.store.article("latin").text
    after = snapshot(hash_index)[1]
    assert {k: after[k] for k in before} == before  # nothing else touched
    check_consistent(index)


def test_unreadable_file_is_skipped(tmp_path, monkeypatch):
    """chmod 000 does not stop root. As root the reader runs as the unprivileged user 'nobody'
    when this machine allows switching users; otherwise (a container without CAP_SETUID) the
    operating system's refusal is simulated: ``os.open`` raises EACCES for that one file."""
    folder = tmp_path / "perm"
    folder.mkdir()
    (folder / "ok.txt").write_text("Readable\n\nThe bridge of Elsby was built in 1887.\n")
    secret = folder / "secret.txt"
    secret.write_text("Secret\n\nNobody may read this.\n")
    secret.chmod(0)

    def check(ids: list[str], warnings: list[str]) -> None:
        assert ids == ["ok"]
        assert any("secret.txt" in w and "cannot read" in w and "Permission denied" in w for w in warnings), warnings

    if os.geteuid() != 0:
        report = read_paths([folder])
        return check([a.id for a in report.articles], report.warnings)
    result = _read_as_nobody(folder)
    if result is not None:
        return check(*result)
    import errno

    import assistant.ingest.readers as readers

    real_open = os.open

    def refusing_open(path, flags, *a, **k):
        if Path(path).name == "secret.txt":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(readers.os, "open", refusing_open)
    report = read_paths([folder])
    check([a.id for a in report.articles], report.warnings)


def _read_as_nobody(folder: Path) -> tuple[list[str], list[str]] | None:
    """read_paths run by the 'nobody' user on a world-readable copy of ``folder``; None when
    this machine does not let root switch users."""
    import pwd

    try:
        nobody = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return None
    shared = Path(os.environ.get("TMPDIR", "/tmp")) / f"unreadable-{os.getpid()}"
    shutil.rmtree(shared, ignore_errors=True)
    shutil.copytree(folder, shared)
    try:
        (shared / "secret.txt").chmod(0)
        shared.chmod(0o755)
        (shared / "ok.txt").chmod(0o644)
        code = (
            "import json, sys; from assistant.ingest.readers import read_paths; r = read_paths([sys.argv[1]]); "
            "print(json.dumps([[a.id for a in r.articles], r.warnings]))"
        )
        try:
            out = subprocess.run(
                [sys.executable, "-c", code, str(shared)],
                user=nobody,
                cwd="/",
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (PermissionError, OSError):
            return None
        if out.returncode != 0:
            return None
        ids, warnings = json.loads(out.stdout)
        return ids, warnings
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_symlinked_folder_loop_is_not_followed(tmp_path):
    folder = tmp_path / "tree"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("Title\n\nThe market of Brisk opens at dawn.\n")
    os.symlink("..", folder / "sub" / "up")
    os.symlink(folder, folder / "self")
    report = read_paths([folder, folder / "self" / "sub" / "a.txt"])
    assert [a.id for a in report.articles] == ["sub/a"]  # once, although reachable three ways


def test_html_full_of_scripts_and_navigation_keeps_only_the_article(tmp_path):
    nav = "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(200))
    scripts = "".join(
        f"<script>window.tracker{i} = function() {{ return 'beacon {i}'; }};</script>" for i in range(300)
    )
    html = (
        f"<html><head><title>Daily | Flood</title>{scripts}<style>body {{ color: red }}</style></head><body>"
        f"<nav><ul>{nav}</ul></nav><div class='cookie'>We use cookies. Accept all?</div>"
        "<article><h1>Flood waters recede in Harlow</h1>"
        "<p>Flood waters in Harlow receded on Sunday after three days of heavy rain across the valley.</p>"
        f"<script>document.write('injected ad text')</script>"
        "<p>The mayor, Ines Roy, said the cleanup of the riverside homes would take about a month.</p>"
        f"</article><aside>{nav}</aside><noscript>Enable JavaScript</noscript>"
        "<iframe src='https://ads.example'></iframe><footer>Contact | Privacy | Terms</footer></body></html>"
    )
    (tmp_path / "flood.html").write_text(html)
    report = read_paths([tmp_path / "flood.html"])
    (a,) = report.articles
    assert "receded on Sunday" in a.text and "Ines Roy" in a.text
    for junk in ("tracker", "beacon", "injected ad", "Section 17", "cookies", "Enable JavaScript", "Privacy"):
        assert junk not in a.text, junk


def test_jsonl_malformed_lines_are_reported_by_line_number(tmp_path):
    lines = [
        json.dumps({"id": "ok1", "title": "Fine", "text": "The harbour of Arden is kept by Ana Lima."}),
        '{"id": "cut", "text": "truncated',
        "",
        "[1, 2, 3]",
        json.dumps({"id": "no-text", "title": "Missing"}),
        json.dumps({"id": {"nested": 1}, "text": "An id that is an object."}),
        json.dumps({"id": "nul", "title": "A\u0000B", "text": "Control \u0000 and \ud800 surrogate in Brisk."}),
        "not json at all",
        json.dumps({"id": "ok2", "title": "Also fine", "text": "The bridge of Elsby was built in 1887."}),
    ]
    (tmp_path / "c.jsonl").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    report = read_paths([tmp_path / "c.jsonl"])
    assert [a.id for a in report.articles] == ["ok1", "nul", "ok2"]
    for lineno in (2, 4, 5, 6, 8):
        assert any(f"c.jsonl:{lineno}:" in w for w in report.warnings), (lineno, report.warnings)
    assert not any("c.jsonl:3:" in w for w in report.warnings)  # blank lines are fine
    nul = report.articles[1]
    assert "\x00" not in nul.text + nul.title and "\ud800" not in nul.text
    assert any("c.jsonl:7:" in w and "replaced" in w for w in report.warnings)


def test_hostile_text_is_stored_and_searchable(tmp_path):
    """Lone surrogates and NULs reach SQLite and BM25 only after cleaning; the ingest does not crash."""
    (tmp_path / "c.jsonl").write_text(
        json.dumps(
            {
                "id": "odd",
                "title": "Odd",
                "text": "The ferry of Ivers \ud800 leaves at noon.\u0000 Tickets cost 3 euros.",
            }
        ),
    )
    index = tmp_path / "index"
    report = ingest_paths(index, [tmp_path / "c.jsonl"], HashEmbedder())
    assert report.added == ["odd"]
    a = Assistant(Index.load(index), HashEmbedder())
    ans = a.ask("When does the ferry of Ivers leave?")
    assert ans.citations and ans.citations[0].article_id == "odd"


def test_duplicate_ids_keep_the_last_and_warn(hash_index, tmp_path):
    (tmp_path / "one.jsonl").write_text(
        json.dumps({"id": "dup", "title": "First", "text": "The first version says the mill of Dunmore is red."})
        + "\n"
        + json.dumps({"id": "dup", "title": "Second", "text": "The second version says the mill of Dunmore is blue."})
    )
    (tmp_path / "two.jsonl").write_text(
        json.dumps({"id": "a3", "title": "Clash", "text": "An article whose id clashes with another file's."})
    )
    (tmp_path / "three.jsonl").write_text(
        json.dumps({"id": "a3", "title": "Clash again", "text": "The last article with id a3 wins the clash."})
    )
    report = read_paths([tmp_path / "one.jsonl", tmp_path / "two.jsonl", tmp_path / "three.jsonl"])
    assert sum("'dup' appears twice" in w for w in report.warnings) == 1
    assert sum("'a3' appears twice" in w for w in report.warnings) == 1
    ingest_paths(hash_index, [tmp_path / "one.jsonl", tmp_path / "two.jsonl", tmp_path / "three.jsonl"], HashEmbedder())
    index = Index.load(hash_index)
    assert "blue" in index.store.article("dup").text
    assert "wins the clash" in index.store.article("a3").text
    check_consistent(index)


def test_a_20_mb_article_is_read_whole_up_to_the_character_setting(tmp_path, monkeypatch):
    para = "The council of Farrow met again to discuss the budget for the harbour and the roads. " * 12
    text = "Big report\n\n" + "\n\n".join(f"Part {i}. {para}" for i in range(20_000_000 // len(para) + 1))
    (tmp_path / "big.txt").write_text(text)
    assert (tmp_path / "big.txt").stat().st_size > 20_000_000
    # By default a document keeps its first 2M characters (issue 27), cut between paragraphs, with one warning.
    report = read_paths([tmp_path / "big.txt"])
    [warning] = report.warnings
    (a,) = report.articles
    assert (
        "max_article_chars" in warning
        and 1_800_000 < len(a.text) <= 2_000_000
        and a.text.rstrip().endswith(para.strip())
    )
    monkeypatch.setenv("ASSISTANT_MAX_ARTICLE_CHARS", "25000000")
    report = read_paths([tmp_path / "big.txt"])
    assert not report.warnings
    (a,) = report.articles
    assert a.title == "Big report" and len(a.text) > 19_900_000 and para.strip() in a.text[-2 * len(para) :]


@pytest.mark.slow
def test_a_20_mb_article_is_ingested_and_answerable(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_ARTICLE_CHARS", "25000000")  # above the 2M default
    monkeypatch.setenv("ASSISTANT_MAX_ARTICLE_PASSAGES", "200000")
    rng = random.Random(3)
    parts = []
    size = 0
    i = 0
    while size < 20_000_000:
        s = " ".join(f"Ledger {i}.{j} records {rng.randrange(10**6)} crates of grain at pier {j}." for j in range(6))
        parts.append(s)
        size += len(s) + 2
        i += 1
    needle = "The harbour of Glenn 77 is kept by Lars Berg."
    parts.insert(len(parts) // 2, needle)
    (tmp_path / "big.txt").write_text("Big ledger\n\n" + "\n\n".join(parts))
    t = time.perf_counter()
    report = ingest_paths(tmp_path / "index", [tmp_path / "big.txt"], HashEmbedder())
    print(f"20 MB article: {report.sentences_embedded} sentences, {time.perf_counter() - t:.1f}s {report.timings}")
    index = Index.load(tmp_path / "index")
    check_consistent(index)
    ans = Assistant(index, HashEmbedder()).ask("Who keeps the harbour of Glenn 77?")
    assert any(c.quote == needle for c in ans.citations)


def test_a_failing_ingest_leaves_the_index_unchanged_and_no_leftovers(hash_index):
    class Failing(HashEmbedder):
        def encode(self, texts, **kw):
            raise RuntimeError("embedding backend crashed")

    before = snapshot(hash_index)
    with pytest.raises(RuntimeError, match="crashed"):
        ingest_articles(hash_index, town_articles("b", 3), Failing())
    assert snapshot(hash_index) == before
    assert not [p for p in hash_index.iterdir() if ".tmp-" in p.name]
    check_consistent(Index.load(hash_index))


# --- tampering and corruption ----------------------------------------------------------------
def _gen(index_dir: Path) -> Path:
    return IndexDir(index_dir).current()


def _seg(gen: Path) -> Path:
    """The newest segment folder of a generation (the only one of a one-ingest index)."""
    return gen / json.loads((gen / "manifest.json").read_text())["segments"][-1]["name"]


def _bm25(gen: Path, suffix: str = "term") -> Path:
    """A file of the generation's tantivy index (``meta.json``, or the first with ``suffix``: term, idx…)."""
    folder = gen / "lexical"
    return folder / "meta.json" if suffix == "meta" else sorted(folder.glob(f"*.{suffix}"))[0]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda g: _flip_byte(_seg(g) / "dense.faiss"), "fails its checksum"),
        (lambda g: _truncate(_seg(g) / "store.sqlite"), "truncated"),
        (lambda g: _bm25(g, "meta").unlink(), "missing"),
        (lambda g: (g / "manifest.json").write_text('{"format_version": 3, "files": '), "unreadable"),
        (lambda g: _flip_byte(_bm25(g, "term")), "checksum"),
        (lambda g: _flip_byte(_bm25(g, "idx")), "checksum"),
        (lambda g: _truncate(_bm25(g, "idx")), "truncated"),
        (lambda g: _bm25(g, "fieldnorm").write_bytes(b"\0" * _bm25(g, "fieldnorm").stat().st_size), "checksum"),
    ],
    ids=[
        "bit-flip",
        "truncated",
        "missing",
        "bad-manifest",
        "bm25-terms",
        "bm25-postings",
        "bm25-truncated",
        "bm25-replaced",
    ],  # fmt: skip
)
def test_corrupted_index_is_detected_with_a_rebuild_hint(hash_index, damage, message, capsys):
    damage(_gen(hash_index))
    with pytest.raises(IndexCorruptError, match=message) as err:
        Index.load(hash_index)
    assert "assistant ingest --rebuild" in str(err.value)
    assert cli_main(["info", "--index", str(hash_index)]) == 1
    out = capsys.readouterr().err.strip()
    assert out.startswith("error:") and "--rebuild" in out and "\n" not in out


def test_dangling_current_pointer_says_how_to_repair(hash_index):
    (hash_index / "CURRENT").write_text("gen-999999\n")
    with pytest.raises(IndexCorruptError, match="assistant repair"):
        Index.load(hash_index)


def test_rebuild_recovers_from_corruption(hash_index):
    _flip_byte(_seg(_gen(hash_index)) / "dense.faiss")
    ingest_articles(hash_index, town_articles("a", 12), HashEmbedder(), rebuild=True)
    check_consistent(Index.load(hash_index))


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


# --- no untrusted pickle ---------------------------------------------------------------------
PICKLE_OK = {
    # A developer-only training cache, written and read by the same tool on the developer's
    # machine; never reached from ask, ingest, the CLI verbs or the chat.
    "assistant/evaluation/training/train_answerer.py": "pickle.loads",
}


def test_source_never_loads_untrusted_pickles():
    problems = []
    for path in sorted((ROOT / "assistant").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        src = path.read_text()
        for m in re.finditer(r"\bnp\.load\(|\bnumpy\.load\(|\.BM25\.load\(|\bbm25s\.load\(", src):
            call = _call_text(src, m.end())
            if "allow_pickle=False" not in call:
                problems.append(f"{rel}: {call} without allow_pickle=False")
        for m in re.finditer(r"\btorch\.load\(", src):
            call = _call_text(src, m.end())
            if "weights_only=True" not in call:
                problems.append(f"{rel}: {call} without weights_only=True")
        for m in re.finditer(r"\b(?:pickle|cPickle|dill|joblib|shelve|marshal)\.(?:loads?|Unpickler|open)\b", src):
            if PICKLE_OK.get(rel) != m.group(0).split(".", 1)[0] + "." + m.group(0).split(".", 1)[1]:
                problems.append(f"{rel}: {m.group(0)}")
        if re.search(r"allow_pickle\s*=\s*True|\beval\(|\bexec\(", src):
            problems.append(f"{rel}: allow_pickle=True / eval / exec")
    assert not problems, problems


def _call_text(src: str, start: int) -> str:
    """The argument text of a call whose "(" ends just before ``start`` (parentheses balanced)."""
    depth = 1
    for i in range(start, len(src)):
        depth += {"(": 1, ")": -1}.get(src[i], 0)
        if depth == 0:
            return src[start:i]
    return src[start:]


def test_loading_and_asking_never_unpickle(hash_index, monkeypatch):
    import pickle

    def refuse(*a, **k):
        raise AssertionError("pickle used while loading or querying an index")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    a = Assistant(Index.load(hash_index), HashEmbedder())
    assert a.ask("Who keeps the harbour of Arden a0?").citations


def test_a_pickle_planted_in_the_index_is_refused_not_run(hash_index, tmp_path):
    """Even with matching checksums (an attacker can recompute them) a pickled array is not loaded."""
    marker = tmp_path / "pwned"
    gen = _gen(hash_index)
    ids_file = _bm25(gen, "meta")
    with open(ids_file, "wb") as fh:
        np.save(fh, np.array([_Evil(str(marker))], dtype=object), allow_pickle=True)
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["files"][ids_file.relative_to(gen).as_posix()] = {
        "size": ids_file.stat().st_size,
        "sha256": _sha(ids_file),
    }
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="rebuild"):
        Index.load(hash_index)
    assert not marker.exists()


class _Evil:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def _sha(path: Path) -> str:
    from assistant.models.digests import sha256_file

    return sha256_file(path)


# --- locking and live refresh ----------------------------------------------------------------
class GatedEmbedder(HashEmbedder):
    """Blocks inside the ingest (while holding the writer lock) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def encode(self, texts, **kw):
        self.entered.set()
        assert self.release.wait(30), "test never released the gated ingest"
        return super().encode(texts, **kw)


def test_two_ingests_at_once_are_serialised(hash_index):
    gated = GatedEmbedder()
    errors: list[BaseException] = []

    def first():
        try:
            ingest_articles(hash_index, town_articles("b", 4), gated)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    assert gated.entered.wait(30)
    # A second writer that will not wait is refused with a message saying what to do.
    with pytest.raises(IndexBusyError, match="another ingest is writing .* try again"):
        ingest_articles(hash_index, town_articles("c", 3), HashEmbedder(), lock_wait=0.2)
    # One that waits goes after the first and keeps its articles (no lost update).
    second = threading.Thread(target=lambda: ingest_articles(hash_index, town_articles("c", 3), HashEmbedder()))
    second.start()
    time.sleep(0.3)
    assert second.is_alive()  # still waiting for the lock
    gated.release.set()
    t.join(30)
    second.join(30)
    assert not errors
    ids = set(snapshot(hash_index)[1])
    assert {f"b{i}" for i in range(4)} | {f"c{i}" for i in range(3)} | {f"a{i}" for i in range(12)} == ids
    check_consistent(Index.load(hash_index))


def test_two_ingest_processes_are_serialised(hash_index, tmp_path):
    """The lock works across processes: the CLI refuses nothing and loses nothing."""
    ctx = multiprocessing.get_context("spawn")
    ready = [ctx.Event(), ctx.Event()]
    procs = [
        ctx.Process(target=ingest_child, args=(str(hash_index), town_articles(p, 40), [], ready[i]))
        for i, p in enumerate(("p", "q"))
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ids = set(snapshot(hash_index)[1])
    assert {f"p{i}" for i in range(40)} <= ids and {f"q{i}" for i in range(40)} <= ids
    check_consistent(Index.load(hash_index))


def test_running_assistant_answers_during_an_ingest_and_picks_up_the_new_index(hash_index):
    a = Assistant(Index.load(hash_index), HashEmbedder())
    old_gen = a.index.generation
    gated = GatedEmbedder()
    new = [make_article("new1", "Lighthouse of Jarrow", "The lighthouse of Jarrow Zed is kept by Mia Holt since May.")]
    writer = threading.Thread(target=lambda: ingest_articles(hash_index, new, gated))
    writer.start()
    assert gated.entered.wait(30)

    stop = threading.Event()
    seen: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def reader():
        while not stop.is_set():
            try:
                ans = a.ask("Who keeps the lighthouse of Jarrow Zed?")
                seen.append((a.index.generation, ans.citations[0].article_id if ans.citations else ""))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for r in readers:
        r.start()
    deadline = time.time() + 60
    while len(seen) < 8 and time.time() < deadline and not errors:
        time.sleep(0.05)
    during = list(seen)
    assert during and all(g == old_gen and aid != "new1" for g, aid in during)  # the old index, undisturbed
    gated.release.set()
    writer.join(30)
    deadline = time.time() + 60
    while time.time() < deadline and not (seen and seen[-1][1] == "new1"):
        time.sleep(0.05)
    stop.set()
    for r in readers:
        r.join(30)
    assert not errors, errors
    # Picked up without a restart (a late answer begun on the old snapshot may come after).
    assert a.index.generation != old_gen and ("new1" in {aid for _, aid in seen})
    assert a.ask("Who keeps the lighthouse of Jarrow Zed?").citations[0].article_id == "new1"


def test_old_snapshot_in_use_is_not_deleted_by_later_publishes(hash_index):
    held = Index.load(hash_index)
    for i in range(4):
        ingest_articles(hash_index, town_articles(f"g{i}x", 1), HashEmbedder())
    assert (hash_index / held.generation).exists()  # a reader still holds it
    counts: list[int] = []
    t = threading.Thread(target=lambda: counts.append(held.store.count("articles")))  # a new connection
    t.start()
    t.join()
    assert counts == [12]
    held.close()
    ingest_articles(hash_index, town_articles("h", 1), HashEmbedder())
    gens = sorted(p.name for p in hash_index.iterdir() if p.name.startswith("gen-"))
    assert len(gens) <= 2, gens  # released generations are collected


def test_a_corrupt_new_generation_does_not_break_a_running_assistant(hash_index):
    a = Assistant(Index.load(hash_index), HashEmbedder())
    old = a.index.generation
    ingest_articles(hash_index, town_articles("n", 2), HashEmbedder())
    _flip_byte(_seg(_gen(hash_index)) / "dense.faiss")  # the new segment (the old ones are shared)
    ans = a.ask("Who keeps the harbour of Arden a0?")
    assert a.index.generation == old and ans.citations
    assert any("could not be loaded" in n and "rebuild" in n for n in ans.notes)
    ingest_articles(hash_index, town_articles("a", 12), HashEmbedder(), rebuild=True)  # the fix
    ans = a.ask("Who keeps the harbour of Arden a0?")
    assert a.index.generation != old and not ans.notes


def test_ask_from_many_threads_matches_one_thread(seeds_assistant):
    questions = [ABKHAZIA, "Who is Gregory Karasin?", "What did Russia help South Ossetia do?", "When was the war?"]
    expected = {q: seeds_assistant.ask(q) for q in questions}
    results: list[tuple[str, object]] = []
    errors: list[BaseException] = []

    def worker(k: int):
        try:
            for i in range(3):
                q = questions[(k + i) % len(questions)]
                results.append((q, seeds_assistant.ask(q)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert len(results) == 36
    for q, ans in results:
        assert (ans.text, ans.abstained, ans.citations) == (
            expected[q].text,
            expected[q].abstained,
            expected[q].citations,
        )


# --- crashes ---------------------------------------------------------------------------------
def test_sigkill_during_ingest_never_loses_or_mixes_the_index(tmp_path):
    """Kill ingest processes at random moments (>= 20 times): the index always loads, answers,
    and holds exactly the old or the new corpus; a later ingest finishes the job."""
    index = tmp_path / "index"
    old = town_articles("a", 60)
    changed = town_articles("a", 20, version=1)  # 20 of the old articles, edited
    added = town_articles("b", 120)
    state_old = {x.id: x.content_hash for x in old}
    state_new = dict(state_old, **{x.id: x.content_hash for x in changed + added})
    to_new = (changed + added, [])
    to_old = (old[:20], [x.id for x in added])
    emb = HashEmbedder()
    ingest_articles(index, old, emb)

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["assistant.ingest.pipeline", "tests.hash_embedder"])

    def run(target: tuple, kill_after: float | None, pause_at: str | None = None) -> float | None:
        """One child ingest, killed ``kill_after`` s after it is ready (or when it reaches
        ``pause_at``); its duration when it finished."""
        ready, paused = ctx.Event(), ctx.Event()
        p = ctx.Process(target=ingest_child, args=(str(index), target[0], target[1], ready, pause_at, paused))
        p.start()
        assert ready.wait(60)
        t = time.perf_counter()
        if pause_at:
            assert paused.wait(120), f"the ingest never reached {pause_at}"
            kill_after = 0.0
        p.join(kill_after)
        if p.is_alive() and kill_after is not None:
            p.kill()
            p.join(30)
            return None
        assert p.exitcode == 0
        return time.perf_counter() - t

    duration = run(to_new, 120)
    assert duration is not None
    state = state_new
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261129")))
    kills = rounds = 0
    phases: dict[str, int] = {}
    deadline = time.time() + 180
    # Random moments, then each step of publishing exactly (twice each).
    targeted = ["rename", "replace", "replaced"] * 2
    while kills < 20 or rounds < 24 or targeted:
        assert time.time() < deadline, f"only {kills} kills in time"
        target = to_old if state == state_new else to_new
        pause_at = targeted.pop(0) if kills >= 20 and rounds >= 24 else None
        killed = run(target, rng.uniform(0.0, 1.1 * duration), pause_at) is None
        kills += killed
        rounds += 1
        if killed:  # where the kill landed, from what it left on disk
            names = [p.name for p in index.iterdir()]
            live = IndexDir(index).current_name()
            phase = (
                "while building"
                if any(n.startswith("gen-") and ".tmp-" in n for n in names)
                else "after renaming, before switching"
                if any(n.startswith("gen-") and n > (live or "") for n in names)
                else "after switching"
                if dict(IndexDir(index).read_manifest()["articles"]) != state
                else "before building"
            )
            phases[phase] = phases.get(phase, 0) + 1
            if pause_at:
                assert (
                    phase
                    == {
                        "rename": "while building",
                        "replace": "after renaming, before switching",
                        "replaced": "after switching",
                    }[pause_at]
                ), (pause_at, phase)
        idx = Index.load(index)  # always loads, checksums verified
        got = dict(idx.manifest["articles"])
        assert got in (state_old, state_new), "a mix of the old and the new corpus"
        check_consistent(idx)
        hashes = {a.id: a.content_hash for a in idx.store.articles()}
        assert hashes == got
        ans = Assistant(idx, emb).ask("Who keeps the harbour of Colm a2?")
        assert ans.citations and ans.citations[0].article_id == "a2"
        idx.close()
        state = got
    # One more interrupted ingest; a later one finishes the job and leaves no leftovers.
    target, expected = (to_old, state_old) if state == state_new else (to_new, state_new)
    run(target, 0.5 * duration)
    ingest_articles(index, target[0], emb, remove=target[1])
    final = Index.load(index)
    assert dict(final.manifest["articles"]) == expected
    check_consistent(final)
    leftovers = [p.name for p in index.iterdir() if ".tmp-" in p.name]
    assert not leftovers
    print(f"{kills} kills in {rounds} rounds (ingest takes {duration:.2f}s); kills landed {phases}")


# --- article identity across ingests -----------------------------------------------------------
def test_same_file_name_in_two_ingests_keeps_both_and_says_so(tmp_path):
    docs = tmp_path / "docs"
    for year, colour in (("2023", "red"), ("2024", "blue")):
        (docs / year).mkdir(parents=True)
        (docs / year / "report.txt").write_text(f"Report {year}\n\nIn {year} the mill of Dunmore was {colour}.\n")
    index = tmp_path / "index"
    first = ingest_paths(index, [docs / "2023"], HashEmbedder())
    assert first.added == ["report"]
    second = ingest_paths(index, [docs / "2024"], HashEmbedder())
    (new_id,) = second.added
    assert not second.updated and new_id.startswith("report-")
    assert any("'report' already belongs to" in w and "2023" in w and new_id in w for w in second.warnings)
    idx = Index.load(index)
    assert "red" in idx.store.article("report").text and "blue" in idx.store.article(new_id).text
    check_consistent(idx)
    idx.close()
    # Re-ingesting the same path updates its own article, and only that one.
    assert ingest_paths(index, [docs / "2024"], HashEmbedder()).unchanged == [new_id]
    (docs / "2024" / "report.txt").write_text("Report 2024\n\nIn 2024 the mill of Dunmore was green.\n")
    third = ingest_paths(index, [docs / "2024"], HashEmbedder())
    assert third.updated == [new_id] and not third.added and not any("already belongs" in w for w in third.warnings)
    # Ingesting the parent folder: each file is already in the index and keeps its id.
    fourth = ingest_paths(index, [docs], HashEmbedder())
    assert sorted(fourth.unchanged) == sorted(["report", new_id]) and not fourth.added
    # A fresh index of the parent folder gets path ids that cannot collide.
    fifth = ingest_paths(tmp_path / "index2", [docs], HashEmbedder())
    assert sorted(fifth.added) == ["2023/report", "2024/report"] and not fifth.warnings


def test_ids_already_in_an_index_stay_valid(tmp_path):
    """An index from before path ids: its article for docs/sub/report.txt is 'report'. Ingesting
    the folder again updates that article instead of adding 'sub/report' beside it."""
    from assistant.ingest.readers import read_paths as read

    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "report.txt").write_text("Report\n\nThe mill of Dunmore is red.\n")
    (old,) = read([docs]).articles
    index = tmp_path / "index"
    from dataclasses import replace

    ingest_articles(index, [replace(old, id="report")], HashEmbedder())  # what the old reader stored
    report = ingest_paths(index, [docs], HashEmbedder())
    assert report.unchanged == ["report"] and not report.added
    (docs / "sub" / "report.txt").write_text("Report\n\nThe mill of Dunmore is now blue.\n")
    assert ingest_paths(index, [docs], HashEmbedder()).updated == ["report"]


def test_non_latin_file_names_are_distinct_articles(tmp_path):
    for name, fact in (("東京", "Tokyo"), ("北京", "Beijing"), ("Москва", "Moscow")):
        (tmp_path / f"{name}.txt").write_text(f"{name}\n\nThe harbour of {fact} is kept by Ana Lima.\n")
    report = ingest_paths(tmp_path / "index", [tmp_path], HashEmbedder())
    assert sorted(report.added) == sorted(["東京", "北京", "москва"])
    assert Index.load(tmp_path / "index").manifest["counts"]["articles"] == 3


def test_a_bad_jsonl_line_does_not_stop_the_other_files(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "j1", "title": "One", "text": "The ferry of Ivers leaves at noon."})
        + "\n"
        + '{"n": '
        + "9" * 5000
        + "}\n"
        + "[" * 100_000
        + "\n"
    )
    (tmp_path / "b.txt").write_text("Bridge\n\nThe bridge of Elsby was built in 1887.\n")
    report = ingest_paths(tmp_path / "index", [tmp_path], HashEmbedder())
    assert sorted(report.added) == ["b", "j1"]
    assert any("a.jsonl:2:" in w for w in report.warnings) and any("a.jsonl:3:" in w for w in report.warnings)


# --- generations are let go --------------------------------------------------------------------
def _open_files(name: str) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if name in target:
            out.append(target)
    return out


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_old_generations_are_closed_after_a_reload(hash_index):
    """Questions from several threads open one store connection each; after each publish the
    assistant switches and closes the old generation's connections in every thread."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.settings import Settings

    a = Assistant(Index.load(hash_index), HashEmbedder(), Settings.from_env(index_dir=hash_index, reader="none"))
    with ThreadPoolExecutor(4) as pool:
        for i in range(4):
            list(pool.map(lambda _: a.ask("Who keeps the harbour of Arden a0?"), range(8)))
            ingest_articles(hash_index, town_articles(f"r{i}x", 1), HashEmbedder())
        list(pool.map(lambda _: a.ask("Who keeps the harbour of Arden a0?"), range(8)))
        mine = [t for t in _open_files("store.sqlite") if str(hash_index) in t]
        assert mine  # the worker threads' connections to the live generation
        deleted = [t for t in mine if "(deleted)" in t]
        # A segment is hard-linked into every later generation: SQLite may keep the closed old
        # connection's descriptor of that same inode parked until the live one drops its lock, which
        # holds nothing the live generation does not hold (a file only an old generation has is stale).
        live = {os.stat(p).st_ino for p in (hash_index / a.index.generation).rglob("store.sqlite")}
        stale = [t for t in mine if a.index.generation not in t and os.stat(t).st_ino not in live]
        assert not deleted and not stale, (deleted, stale)
    gens = sorted(p.name for p in hash_index.iterdir() if p.name.startswith("gen-"))
    assert len(gens) <= 2, gens  # nothing held: released generations are collected
    a.close()
    assert not [t for t in _open_files("store.sqlite") if str(hash_index) in t]


# --- what cleanup may touch --------------------------------------------------------------------
def test_cleanup_never_deletes_user_folders_that_look_like_generations(hash_index):
    lookalikes = ["gen-000000", "gen-000000.tmp-1", "notes.tmp-2024", "gen-999999"]
    for name in lookalikes:
        (hash_index / name).mkdir(exist_ok=True)
        (hash_index / name / "mine.txt").write_text("my own file")
    for i in range(3):
        ingest_articles(hash_index, town_articles(f"u{i}x", 1), HashEmbedder())
    for name in lookalikes:
        assert (hash_index / name / "mine.txt").read_text() == "my own file", name
    check_consistent(Index.load(hash_index))


def test_a_folder_holding_only_a_readme_becomes_an_index_and_keeps_it(tmp_path):
    """The project's own ``index/`` holds a README.md: the first ingest (``./run.sh``) uses it."""
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "README.md").write_text("The index lives here.\n")
    ingest_articles(folder, town_articles("r1x", 1), HashEmbedder())
    ingest_articles(folder, town_articles("r2x", 1), HashEmbedder())
    check_consistent(Index.load(folder))
    assert (folder / "README.md").read_text() == "The index lives here.\n"


def test_an_empty_build_folder_left_by_a_kill_before_its_marker_is_cleaned(hash_index):
    """A SIGKILL between creating a build folder and marking it leaves it empty: removed (nothing
    to lose), while a look-alike holding anything stays."""
    (hash_index / "gen-000050.tmp-4242").mkdir()
    (hash_index / "gen-000051.tmp-4243").mkdir()
    (hash_index / "gen-000051.tmp-4243" / "mine.txt").write_text("my own file")
    ingest_articles(hash_index, town_articles("e1x", 1), HashEmbedder())
    assert not (hash_index / "gen-000050.tmp-4242").exists()
    assert (hash_index / "gen-000051.tmp-4243" / "mine.txt").read_text() == "my own file"


def test_an_index_from_before_markers_is_still_cleaned(hash_index):
    from assistant.storage.generations import GEN_MARKER, INDEX_MARKER

    (hash_index / INDEX_MARKER).unlink()
    for gen in hash_index.glob("gen-*"):
        (gen / GEN_MARKER).unlink(missing_ok=True)
    for i in range(3):
        ingest_articles(hash_index, town_articles(f"m{i}x", 1), HashEmbedder())
    gens = sorted(p.name for p in hash_index.iterdir() if p.name.startswith("gen-"))
    assert len(gens) == 2, gens
    assert (hash_index / INDEX_MARKER).is_file()


def test_index_on_a_non_empty_folder_that_is_not_an_index_is_refused(tmp_path, capsys):
    from assistant.errors import IndexWriteError

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "gen-000001").mkdir()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("A\n\nThe harbour of Arden is kept by Ana Lima.\n")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(IndexWriteError, match="not an index folder and is not empty"):
        ingest_paths(folder, [docs], HashEmbedder())
    assert sorted(p.name for p in folder.iterdir()) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ingest_paths(empty, [docs], HashEmbedder()).added == ["a"]


# --- the bad-input catalogue: one line, non-zero exit, never a traceback -------------------------
def _cli(args: list[str], capsys) -> tuple[int, str]:
    code = cli_main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def _one_line_error(code: int, err: str, *words: str) -> None:
    assert code != 0, err
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture
def hash_model(monkeypatch):
    """`assistant ingest` with the HashEmbedder (the index's model) instead of loading a model."""
    from assistant.models.embedding import Embedder

    monkeypatch.setattr(Embedder, "load", classmethod(lambda cls, *a, **k: HashEmbedder()))


def _write_manifest(gen: Path, text: str | bytes) -> None:
    path = gen / "manifest.json"
    path.unlink()
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


def _manifest_without(key: str):
    def damage(g: Path) -> None:
        m = json.loads((g / "manifest.json").read_text())
        del m[key]
        _write_manifest(g, json.dumps(m))

    return damage


def _folder_instead(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _loop_instead(path: Path) -> None:
    path.unlink()
    os.symlink(path.name + ".b", path.with_name(path.name + ".a"))
    os.symlink(path.name + ".a", path.with_name(path.name + ".b"))
    os.symlink(path.name + ".a", path)


MANIFEST_DAMAGE = {
    "list": lambda g: _write_manifest(g, "[]"),
    "null": lambda g: _write_manifest(g, "null"),
    "no-files": _manifest_without("files"),
    "no-counts": _manifest_without("counts"),
    "no-model": _manifest_without("model"),
    "bad-utf8": lambda g: _write_manifest(g, b'{"format_version": 1, "x": "\xff\xfe"}'),
    "deep": lambda g: _write_manifest(g, '{"format_version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "folder": lambda g: _folder_instead(g / "manifest.json"),
    "symlink-loop": lambda g: _loop_instead(g / "manifest.json"),
    "huge": lambda g: os.truncate(g / "manifest.json", 17 * 2**20),  # sparse; refused unread
    "endless": lambda g: ((g / "manifest.json").unlink(), os.symlink("/dev/zero", g / "manifest.json")),
}
CURRENT_DAMAGE = {
    "list": lambda d: (d / "CURRENT").write_text("[]"),
    "null": lambda d: (d / "CURRENT").write_text("null"),
    "bad-utf8": lambda d: (d / "CURRENT").write_bytes(b"gen-\xff\xfe\n"),
    "folder": lambda d: _folder_instead(d / "CURRENT"),
    "symlink-loop": lambda d: _loop_instead(d / "CURRENT"),
}


@pytest.mark.parametrize("kind", sorted(MANIFEST_DAMAGE))
def test_malformed_manifest_is_one_line_with_the_rebuild_hint(hash_index, kind, capsys, hash_model, tmp_path):
    MANIFEST_DAMAGE[kind](_gen(hash_index))
    with pytest.raises(IndexCorruptError, match="rebuild"):
        Index.load(hash_index)
    _one_line_error(*_cli(["info", "--index", str(hash_index)], capsys), "--rebuild")
    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    _one_line_error(*_cli(["ingest", str(tmp_path / "n.txt"), "--index", str(hash_index), "--quiet"], capsys))


@pytest.mark.parametrize("kind", sorted(CURRENT_DAMAGE))
def test_malformed_current_is_one_line_and_deletes_nothing(hash_index, kind, capsys, hash_model, tmp_path):
    gens = sorted(p.name for p in hash_index.glob("gen-*"))
    CURRENT_DAMAGE[kind](hash_index)
    with pytest.raises(IndexCorruptError, match="rebuild"):
        Index.load(hash_index)
    _one_line_error(*_cli(["info", "--index", str(hash_index)], capsys), "CURRENT", "--rebuild")
    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    _one_line_error(*_cli(["ingest", str(tmp_path / "n.txt"), "--index", str(hash_index), "--quiet"], capsys))
    assert sorted(p.name for p in hash_index.glob("gen-*")) == gens  # a writer removed nothing
    if kind == "folder":
        return  # a folder named CURRENT is not replaced: the hint's "delete the index" is the fix
    # The hint works: a rebuild publishes a fresh index.
    assert _cli(["ingest", str(tmp_path / "n.txt"), "--index", str(hash_index), "--rebuild", "--quiet"], capsys)[0] == 0
    check_consistent(Index.load(hash_index))


def _disk_full_copy(*a, **k):
    import errno

    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _disk_full_faiss(*a, **k):
    raise RuntimeError(
        "Error in void faiss::FileIOWriter::operator()(...) at faiss/impl/io.cpp:102: Error: 'ret == n' failed: "
        "write error in dense.faiss: 0 != 1 (No space left on device)"
    )


def _disk_full_tantivy(*a, **k):
    raise ValueError("An IO error occurred: 'No space left on device (os error 28)'")  # as tantivy says it


def _disk_full_sqlite(*a, **k):
    import sqlite3

    raise sqlite3.OperationalError("database or disk is full")


@pytest.mark.parametrize(
    "target, fake",
    [
        ("os.link", _disk_full_copy),
        ("faiss.write_index", _disk_full_faiss),
        ("assistant.storage.store.Store.commit", _disk_full_sqlite),
        ("assistant.storage.fulltext.FullText._commit", _disk_full_tantivy),
    ],
    ids=["oserror-28", "faiss-runtimeerror", "sqlite-full", "tantivy"],
)
def test_disk_full_is_one_line_and_the_index_stays_intact(
    hash_index, tmp_path, capsys, hash_model, monkeypatch, target, fake
):
    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    before = snapshot(hash_index)
    monkeypatch.setattr(target, fake)
    code, err = _cli(["ingest", str(tmp_path / "n.txt"), "--index", str(hash_index), "--quiet"], capsys)
    _one_line_error(code, err, "no space left", "unchanged")
    monkeypatch.undo()
    assert snapshot(hash_index) == before
    assert not [p for p in hash_index.iterdir() if ".tmp-" in p.name]
    check_consistent(Index.load(hash_index))


def test_index_naming_a_plain_file_is_one_line(tmp_path, capsys, hash_model):
    plain = tmp_path / "notes.txt"
    plain.write_text("my notes")
    _one_line_error(*_cli(["info", "--index", str(plain)], capsys), "is a file")
    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    _one_line_error(*_cli(["ingest", str(tmp_path / "n.txt"), "--index", str(plain), "--quiet"], capsys), "is a file")
    assert plain.read_text() == "my notes"


def test_an_index_folder_you_cannot_write_is_one_line(hash_index, tmp_path, capsys, hash_model, monkeypatch):
    """As root chmod does not stop writes, so the refusal is simulated at the writer lock."""
    import errno

    from filelock import FileLock

    def refuse(self, *a, **k):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), self.lock_file)

    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    before = snapshot(hash_index)
    monkeypatch.setattr(FileLock, "acquire", refuse)
    code, err = _cli(["ingest", str(tmp_path / "n.txt"), "--index", str(hash_index), "--quiet"], capsys)
    _one_line_error(code, err, "cannot write", "permissions")
    monkeypatch.undo()
    assert snapshot(hash_index) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")
def test_an_index_folder_you_cannot_write_is_one_line_for_real(hash_index, tmp_path, capsys, hash_model):
    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    (hash_index / ".lock").unlink(missing_ok=True)
    hash_index.chmod(0o500)
    try:
        _one_line_error(*_cli(["ingest", str(tmp_path / "n.txt"), "--index", str(hash_index), "--quiet"], capsys))
    finally:
        hash_index.chmod(0o700)


def test_an_unreadable_subfolder_is_skipped_with_a_warning(tmp_path, monkeypatch):
    import errno

    folder = tmp_path / "docs"
    (folder / "locked").mkdir(parents=True)
    (folder / "locked" / "inside.txt").write_text("Inside\n\nHidden text about Colm.\n")
    (folder / "ok.txt").write_text("Ok\n\nThe bridge of Elsby was built in 1887.\n")
    if os.geteuid() == 0:  # root reads anything: simulate the refusal of that one folder
        real = os.scandir

        def scandir(path="."):
            if Path(path).name == "locked":
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        (folder / "locked").chmod(0)
    try:
        report = read_paths([folder])
    finally:
        (folder / "locked").chmod(0o700)
    assert [a.id for a in report.articles] == ["ok"]
    assert any("locked" in w and "cannot read the folder" in w for w in report.warnings), report.warnings


def test_a_file_in_an_unreadable_folder_is_skipped_with_a_warning(tmp_path, monkeypatch):
    import errno

    (tmp_path / "locked").mkdir()
    inside = tmp_path / "locked" / "inside.txt"
    inside.write_text("Inside\n\nHidden text about Colm.\n")
    (tmp_path / "ok.txt").write_text("Ok\n\nThe bridge of Elsby was built in 1887.\n")
    if os.geteuid() == 0:  # root passes any folder: simulate the refusal (no search permission)
        real = os.stat

        def refusing_stat(path, *a, **k):
            if "locked" in str(path):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real(path, *a, **k)

        monkeypatch.setattr(os, "stat", refusing_stat)
    else:
        (tmp_path / "locked").chmod(0)
    try:
        report = read_paths([inside, tmp_path / "ok.txt"])
    finally:
        monkeypatch.undo()
        (tmp_path / "locked").chmod(0o700)
    assert [a.id for a in report.articles] == ["ok"]
    assert any("inside.txt" in w and "Permission denied" in w for w in report.warnings), report.warnings


class _ClosedPipe:
    """A stdout whose reader has gone away (`| head` after its lines)."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise OSError("no descriptor")

    def isatty(self) -> bool:
        return False


def test_a_closed_pipe_is_quiet(hash_index, monkeypatch, capsys, hash_model):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert cli_main(["info", "--index", str(hash_index)]) == 141
    assert cli_main(["info", "--index", str(hash_index), "--json"]) == 141
    question = ["ask", "Who keeps the harbour of Arden a0?", "--index", str(hash_index), "--reader", "none"]
    assert cli_main([*question, "--json"]) == 141
    assert cli_main(question) == 141
    assert "Traceback" not in capsys.readouterr().err


def test_info_into_head_has_no_traceback(tmp_path):
    index = tmp_path / "index"
    ingest_articles(index, town_articles("p", 1500, sentences=1), HashEmbedder())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = f"{sys.executable} -m assistant info --json --index {index} | head -c 100 >/dev/null; echo ${{PIPESTATUS[0]}}"
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, timeout=120)
    assert "Traceback" not in out.stderr and "Exception ignored" not in out.stderr, out.stderr
    assert out.stdout.strip() in {"0", "141"}


def test_eval_without_matplotlib_writes_the_report_with_a_note(tmp_path, monkeypatch):
    from assistant.evaluation import seeds_eval

    metrics = {"hit@k": {"1": 1.0}, "reliability": [], "ece": 0.0}
    monkeypatch.setattr(seeds_eval, "evaluate", lambda assistant, items: {"metrics": metrics})
    monkeypatch.setattr(seeds_eval, "load_set", lambda path: [])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ModuleNotFoundError

    class Fake:
        embedder = HashEmbedder()

    report, failures = seeds_eval.run_gate(Fake(), out_dir=tmp_path)
    assert "matplotlib" in report["note"]
    assert json.loads((tmp_path / "seeds.json").read_text())["note"] == report["note"]
    assert not (tmp_path / "seeds.png").exists()


# --- bounded, validated index reads ------------------------------------------------------------
def _rehash(gen: Path, rel: str) -> None:
    """Update the manifest's size and sha256 of one file (what an attacker can do too)."""
    manifest = json.loads((gen / "manifest.json").read_text())
    p = gen / rel
    manifest["files"][rel] = {"size": p.stat().st_size, "sha256": _sha(p)}
    (gen / "manifest.json").write_text(json.dumps(manifest))


def _set_meta(gen: Path, change) -> None:
    """Change the tantivy index's ``meta.json`` (the values tantivy trusts) with ``change(meta)``."""
    p = _bm25(gen, "meta")
    meta = json.loads(p.read_text())
    change(meta)
    p.write_text(json.dumps(meta))
    _rehash(gen, p.relative_to(gen).as_posix())


def _to_dev_zero(p: Path) -> None:
    p.unlink()
    os.symlink("/dev/zero", p)


def _set_segment(gen: Path, **changes) -> None:
    _set_meta(gen, lambda m: m["segments"][0].update(changes))


def _set_manifest(gen: Path, **changes) -> None:
    manifest = json.loads((gen / "manifest.json").read_text())
    for key, value in changes.items():
        target = manifest
        *path, last = key.split("__")
        for k in path:
            target = target[k]
        target[last] = value
    (gen / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "damage",
    [
        lambda g: _set_segment(g, max_doc=10**12),
        lambda g: _set_segment(g, max_doc=-1),
        lambda g: _set_segment(g, max_doc=5),  # tantivy would panic inside a query
        lambda g: _set_segment(g, deletes={"num_deleted_docs": 10**6, "opstamp": 1}),
        lambda g: _set_meta(g, lambda m: m.update(segments=[])),
        lambda g: _set_meta(g, lambda m: m.update(schema=m["schema"][:1])),
        lambda g: _set_manifest(g, counts__chunks=10**9),
        lambda g: _set_manifest(g, model__dim=7),
        lambda g: _set_manifest(g, files={"store.sqlite": {"size": 1, "sha256": "0" * 64}}),
        lambda g: _to_dev_zero(_bm25(g, "meta")),
        lambda g: _to_dev_zero(_bm25(g, "idx")),
    ],
    ids=[
        "max-doc-huge",
        "max-doc-negative",
        "max-doc-small",
        "deleted-huge",
        "no-segments",
        "schema",
        "counts",
        "dim",
        "files",
        "dev-zero-meta",
        "dev-zero-postings",
    ],
)
def test_values_read_from_index_files_are_validated(hash_index, damage, capsys):
    damage(_gen(hash_index))
    with pytest.raises(IndexCorruptError, match="rebuild"):
        Index.load(hash_index, verify=False)  # even without checksums
    _one_line_error(*_cli(["info", "--index", str(hash_index)], capsys), "--rebuild")
