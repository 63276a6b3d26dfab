"""Ingest progress that moves: sentences embedded (a slice at a time, also inside one long article),
articles stored, then the publish; the chat's ETA."""

from __future__ import annotations

from assistant.ingest.pipeline import ingest_articles

from .hash_embedder import HashEmbedder, make_article, town_articles


def test_one_long_article_reports_its_embedding_a_slice_at_a_time(tmp_path):
    long = make_article(
        "long", "A long report", " ".join(f"Sentence number {i} is about the harbour." for i in range(700))
    )
    embedded, stored = [], []
    report = ingest_articles(
        tmp_path / "index",
        [long, *town_articles("t", 3)],
        HashEmbedder(),
        on_embed=lambda done, total: embedded.append((done, total)),
        on_progress=lambda done, total: stored.append((done, total)),
    )
    assert report.added and len(embedded) >= 3  # 700+ sentences: several slices, not one report at the end
    assert all(0 < d <= t for d, t in embedded) and [d for d, _ in embedded] == sorted(d for d, _ in embedded)
    assert embedded[-1][0] == embedded[-1][1] == report.sentences_embedded
    assert stored[-1] == (4, 4)


def test_the_terminal_shows_sentences_embedded(tmp_path, capsys):
    ingest_articles(tmp_path / "index", town_articles("t", 5), HashEmbedder(), progress=True)
    assert "sentence" in capsys.readouterr().err  # tqdm: "embedding … sentence/s", with its ETA


def test_eta_appears_once_it_can_be_told(monkeypatch):
    import assistant.chat.layout as layout

    monkeypatch.setattr(layout.time, "monotonic", lambda: 110.0)
    assert layout.eta(108.0, 10, 100) == ""  # 2 s in: too early to tell
    assert layout.eta(100.0, 10, 100) == " · about 2 min left"
    assert layout.eta(100.0, 50, 100) == " · about 10 s left"
    assert layout.eta(100.0, 100, 100) == ""
