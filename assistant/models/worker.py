"""The ingest encoder in a worker process, at a lower CPU priority, so answering never waits behind it.

An ingest that embeds many chunks (an upload in the chat, a CLI ingest into the index a chat
serves) hands the forward passes to ``python -m assistant.models.worker``: a child process that
lowers its own priority (``os.nice``), loads the same verified ONNX graph with its own intra-op
threads, and returns sentence and chunk vectors. The operating system then gives the cores to a
question first; the parent keeps segmenting, storing and reporting progress.

The protocol is length-prefixed JSON requests on the child's stdin and ``.npy`` arrays
(``allow_pickle=False``) on its stdout; nothing is pickled. The child exits when its stdin closes.

Example::

    from assistant.models.worker import EncodeWorker
    w = EncodeWorker(model_path, weights_sha256, threads=2, nice=10)
    [(sentence_vecs, chunk_vecs)] = w.encode_chunks([(text, sentences, chunks)])
    w.close()
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parents[2]


def _write_msg(f, obj: dict) -> None:
    data = json.dumps(obj).encode()
    f.write(struct.pack("<Q", len(data)))
    f.write(data)
    f.flush()


def _read_msg(f) -> dict:
    head = f.read(8)
    if len(head) < 8:
        raise EOFError("worker closed its pipe")
    (n,) = struct.unpack("<Q", head)
    return json.loads(f.read(n))


def _write_array(f, a: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a, np.float32), allow_pickle=False)
    data = buf.getvalue()
    f.write(struct.pack("<Q", len(data)))
    f.write(data)


def _read_array(f) -> np.ndarray:
    (n,) = struct.unpack("<Q", f.read(8))
    return np.load(io.BytesIO(f.read(n)), allow_pickle=False)


class EncodeWorker:
    """A child process running :meth:`OnnxBert.encode_chunks`; one request at a time."""

    def __init__(
        self, model_path: str, weights_sha256: str, threads: int = 2, nice: int = 10, quant: str = "fp32"
    ) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH", "")) if p)
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant.models.worker",
                model_path,
                weights_sha256,
                str(threads),
                str(nice),
                quant,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        ready = _read_msg(self.proc.stdout)
        if not ready.get("ready"):
            self.close()
            raise RuntimeError(f"ingest worker failed to start: {ready.get('error')}")

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length embeddings of ``texts`` (as :meth:`OnnxBert.encode`)."""
        with self._lock:
            _write_msg(self.proc.stdin, {"op": "encode", "batch": int(batch_size), "texts": list(texts)})
            reply = _read_msg(self.proc.stdout)
            if not reply.get("ok"):
                raise RuntimeError(f"ingest worker: {reply.get('error')}")
            return _read_array(self.proc.stdout)

    def encode_chunks(self, articles, batch_size: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
        request = {
            "op": "encode_chunks",
            "batch": int(batch_size),
            "articles": [
                [text, [list(s) for s in sents], [list(c) for c in chunks]] for text, sents, chunks in articles
            ],
        }
        with self._lock:
            _write_msg(self.proc.stdin, request)
            reply = _read_msg(self.proc.stdout)
            if not reply.get("ok"):
                raise RuntimeError(f"ingest worker: {reply.get('error')}")
            out = []
            for _ in range(reply["n"]):
                out.append((_read_array(self.proc.stdout), _read_array(self.proc.stdout)))
        return out

    def close(self) -> None:
        proc = self.proc
        if proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
                proc.wait()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _serve(model_path: str, sha: str, threads: int, nice: int, quant: str) -> None:
    out = sys.stdout.buffer
    inp = sys.stdin.buffer
    sys.stdout = sys.stderr  # nothing else may write to the protocol pipe
    # Ctrl-C in a terminal reaches the whole process group: the parent reports it, and this child
    # ends when the parent closes its stdin (no traceback of its own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if nice > 0 and hasattr(os, "nice"):
            os.nice(nice)
        from .onnx_runtime import OnnxBert

        enc = OnnxBert.load_encoder(model_path, sha, threads, quant=quant)  # the parent's graph, not the default
    except Exception as exc:
        _write_msg(out, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    _write_msg(out, {"ready": True})
    while True:
        try:
            req = _read_msg(inp)
        except EOFError:
            return
        try:
            if req.get("op") == "encode":
                vecs = enc.encode(req["texts"], int(req.get("batch", 64)))
                _write_msg(out, {"ok": True})
                _write_array(out, vecs)
                out.flush()
                continue
            arts = [(t, [tuple(x) for x in s], [tuple(x) for x in c]) for t, s, c in req["articles"]]
            result = enc.encode_chunks(arts, int(req.get("batch", 32)))
        except Exception as exc:
            _write_msg(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
            continue
        _write_msg(out, {"ok": True, "n": len(result)})
        for sv, cv in result:
            _write_array(out, sv)
            _write_array(out, cv)
        out.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
