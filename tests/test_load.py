"""Load: 50 concurrent chat clients × 20 questions against the chat app on 127.0.0.1.

Starts ``assistant chat`` (the real Gradio app and model) in a child process on a free local
port and drives its documented ``/ask`` endpoint over plain HTTP (Gradio's
``POST /gradio_api/call/ask`` → ``GET .../{event_id}`` event stream), 50 clients at once, each
a conversation of 20 questions (standalone questions, follow-ups with history, questions the
articles cannot answer, one-off variants that miss every cache). Requires zero errors, reports
latency percentiles, and samples the server's resident memory to check it stays flat.

Run: ``.venv/bin/python -m pytest tests/test_load.py -m slow -s`` (the figures are printed and
written to ``$LOAD_REPORT`` when set). ``LOAD_CLIENTS`` / ``LOAD_QUESTIONS`` scale it down.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from .conftest import ROOT

CLIENTS = int(os.environ.get("LOAD_CLIENTS", "50"))
QUESTIONS = int(os.environ.get("LOAD_QUESTIONS", "20"))
HOST = "127.0.0.1"  # never anything else: the load stays on this machine

STANDALONE = [
    "Which states recognize Abkhazia?",
    "Who is Gregory Karasin?",
    "When did Russia recognize the independence of Abkhazia?",
    "What did Karasin say about Georgia's rhetoric?",
    "Who is the Georgian Prime Minister's special representative for relations with Russia?",
    "What is the capital of Australia?",  # not in the articles: an abstention
]
FOLLOW_UPS = ["Which outlet did he talk to?", "And what about South Ossetia?", "When was that?"]


def conversation(client: int, n: int) -> list[tuple[str, list[str]]]:
    """The ``n`` (question, history) pairs one client asks."""
    out: list[tuple[str, list[str]]] = []
    asked: list[str] = []
    for i in range(n):
        k = client * 7 + i
        if i % 5 == 4:
            q = f"Did anything happen in Georgia on day {client * 100 + i} of the talks?"  # unique: misses caches
        elif i % 3 == 2 and asked:
            q = FOLLOW_UPS[k % len(FOLLOW_UPS)]
        else:
            q = STANDALONE[k % len(STANDALONE)]
        out.append((q, list(asked[-4:])))
        asked.append(q)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ask_http(base: str, question: str, history: list[str], timeout: float = 300.0) -> dict:
    """One question through the app's public ``/ask`` endpoint; raises on any error event."""
    body = json.dumps({"data": [question, history]}).encode()
    req = urllib.request.Request(f"{base}/gradio_api/call/ask", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{base}/gradio_api/call/ask/{event_id}", timeout=timeout) as r:
        event = None
        for raw in r:
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in {"complete", "error"}:
                data = line.split(":", 1)[1].strip()
                if event == "error":
                    raise RuntimeError(f"error event for {question!r}: {data}")
                return json.loads(data)[0]
    raise RuntimeError(f"no answer for {question!r} (stream ended after event {event!r})")


@pytest.fixture
def chat_server(seeds_index, tmp_path):
    """``assistant chat`` over a copy of the seeds index, on a free port of 127.0.0.1."""
    index = tmp_path / "index"
    shutil.copytree(seeds_index, index, ignore=shutil.ignore_patterns(".lock"))
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "chat", "--index", str(index), "--port", str(port), "--no-upload"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://{HOST}:{port}"
    deadline = time.time() + 180
    try:
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.time() < deadline, "the chat did not start in 180 s"
            try:
                urllib.request.urlopen(f"{base}/gradio_api/info", timeout=5).read()
                break
            except OSError:
                time.sleep(0.5)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def run_round(base: str, pid: int, round_no: int) -> dict:
    """CLIENTS conversations of QUESTIONS questions at once; latencies, errors and memory samples."""
    latencies: list[float] = []
    errors: list[str] = []
    done = [0]
    lock = threading.Lock()
    memory: list[float] = [rss_mb(pid)]
    stop = threading.Event()

    def sample():
        while not stop.wait(1.0):
            memory.append(rss_mb(pid))

    def client(c: int):
        for question, history in conversation(c + round_no * CLIENTS, QUESTIONS):
            t = time.perf_counter()
            try:
                ans = ask_http(base, question, history)
                assert isinstance(ans.get("text"), str) and ans["text"], ans
                for cit in ans["citations"]:
                    assert cit["quote"] and cit["end"] > cit["start"]
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                with lock:
                    errors.append(f"client {c}: {exc.__class__.__name__}: {exc}"[:300])
            with lock:
                latencies.append(time.perf_counter() - t)
                done[0] += 1

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    memory.append(rss_mb(pid))
    return {"latencies": latencies, "errors": errors, "wall": wall, "memory": memory}


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_50_clients_20_questions_no_errors_flat_memory(chat_server):
    """ROUNDS rounds of 50 × 20 (2,000 questions by default); the later rounds must not grow memory."""
    base, pid = chat_server
    rounds = int(os.environ.get("LOAD_ROUNDS", "2"))
    for q in STANDALONE:  # warm up (first-use allocations are not a leak)
        ask_http(base, q, [])
    results = [run_round(base, pid, r) for r in range(rounds)]
    lat = np.asarray([x for r in results for x in r["latencies"]])
    errors = [e for r in results for e in r["errors"]]
    end_rss = [round(r["memory"][-1], 1) for r in results]
    figures = {
        "clients": CLIENTS,
        "questions_per_client": QUESTIONS,
        "rounds": rounds,
        "questions": int(len(lat)),
        "errors": len(errors),
        "wall_s": [round(r["wall"], 1) for r in results],
        "throughput_qps": round(len(lat) / sum(r["wall"] for r in results), 2),
        "latency_s": {p: round(float(np.percentile(lat, int(p[1:]))), 3) for p in ("p50", "p90", "p95", "p99")}
        | {"max": round(float(lat.max()), 3)},
        "server_rss_mb": {
            "after_warm_up": round(results[0]["memory"][0], 1),
            "end_of_each_round": end_rss,
            "peak": round(max(max(r["memory"]) for r in results), 1),
        },
    }
    print("\nload test:", json.dumps(figures, indent=1))
    if os.environ.get("LOAD_REPORT"):
        Path(os.environ["LOAD_REPORT"]).write_text(json.dumps(figures, indent=1))
    assert not errors, errors[:5]
    assert len(lat) == rounds * CLIENTS * QUESTIONS
    # Flat memory: the first round warms up (50 connections, thread pools, Gradio's session store
    # filling to its capacity, bounded caches); each later round of the same load adds little and
    # less each time. A leak grows by the same amount every round: even 50 kB per question would
    # add 50 MB a round.
    growth = np.diff([results[0]["memory"][0], *end_rss])
    for later in growth[1:]:
        assert later < 40 and later < 0.5 * max(growth[0], 1.0), figures["server_rss_mb"]
