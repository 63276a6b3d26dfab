"""The command line and the default ask(): what a user types and sees."""

import json
import os
import subprocess
import sys

from .conftest import ROOT, SEED_ID


def run(*args, env_extra=None, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


def test_ask_prints_answer_span_and_numbered_citations(seeds_index):
    r = run("ask", "Which states recognize Abkhazia?", "--index", str(seeds_index))
    assert r.returncode == 0, r.stderr
    assert "Nauru" in r.stdout
    assert "[Russia, Nicaragua and Nauru]" in r.stdout
    assert "[1] Russia will not withdraw its recognition" in r.stdout
    assert "Wednesday, November 23" in r.stdout
    assert "Traceback" not in r.stderr
    r = run("ask", "What ties were restored?", "--index", str(seeds_index))
    assert "    “We are pleased we have restored" in r.stdout  # reported speech keeps its own quotation marks
    assert "““" not in r.stdout


def test_ask_prints_a_summary_one_cited_sentence_a_line(seeds_index):
    r = run("ask", "Summarise the article about Abkhazia", "--index", str(seeds_index))
    assert r.returncode == 0, r.stderr
    bullets = [line for line in r.stdout.splitlines() if line.startswith("• ")]
    assert len(bullets) >= 2
    assert bullets[0].startswith("• Russia’s Deputy Foreign Minister Gregory Karasin admits")
    assert all(line.rstrip().endswith("]") for line in bullets)  # each sentence names its citation
    assert "summary, " in r.stdout and "[1] Russia will not withdraw its recognition" in r.stdout
    data = json.loads(run("ask", "Summarise the article about Abkhazia", "--index", str(seeds_index), "--json").stdout)
    assert data["intent"] == "summary" and len(data["sentences"]) == len(bullets)
    assert data["text"] == " ".join(s["quote"] for s in data["sentences"])


def test_ask_json_and_info(seeds_index):
    r = run("ask", "Who is Gregory Karasin?", "--index", str(seeds_index), "--json")
    data = json.loads(r.stdout)
    assert data["abstained"] is False and "Deputy Foreign Minister" in data["text"]
    assert data["citations"][0]["article_id"] == SEED_ID
    r = run("info", "--index", str(seeds_index))
    assert r.returncode == 0
    assert "all-MiniLM-L6-v2" in r.stdout and "1 articles" in r.stdout


def test_user_mistakes_give_one_line_and_non_zero_exit(tmp_path, seeds_index):
    plain = tmp_path / "notes.txt"
    plain.write_text("my notes")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"\xff\xd8\xff")
    doc = tmp_path / "doc.txt"
    doc.write_text("Doc\n\nThe harbour of Arden is kept by Ana Lima.\n")
    cases = [
        ("ask", "   ", "--index", str(seeds_index)),
        ("ask", "Anything?", "--index", str(tmp_path / "nowhere")),
        ("ingest", str(tmp_path / "missing.txt"), "--index", str(tmp_path / "idx")),
        ("remove", "no-such-article", "--index", str(seeds_index)),
        ("info", "--index", str(plain)),
        ("ingest", str(doc), "--index", str(plain), "--quiet"),
        ("ingest", str(doc), "--index", str(photos), "--quiet"),
    ]
    for args in cases:
        r = run(*args)
        assert r.returncode != 0, args
        assert "Traceback" not in r.stderr, args
        if args[0] != "remove":  # (removing nothing warns and exits 1)
            assert len([x for x in r.stderr.splitlines() if x.startswith("error:")]) == 1, (args, r.stderr)
    assert plain.read_text() == "my notes" and sorted(p.name for p in photos.iterdir()) == ["holiday.jpg"]


def test_default_ask_builds_the_index_from_seeds_on_first_use(tmp_path):
    code = (
        "from assistant import ask\n"
        "a = ask('Which states recognize Abkhazia?')\n"
        "b = ask('Who did he talk to?', history=['Who is Gregory Karasin?'])\n"
        "print(a.text)\nprint(b.search_query)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), ASSISTANT_INDEX=str(tmp_path / "idx"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Nauru" in r.stdout
    assert (tmp_path / "idx" / "CURRENT").exists()
