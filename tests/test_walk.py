"""Walking folders: any depth without recursion, one symbolic-link policy, hidden names reported
(issue 27, items 6 and 9)."""

from __future__ import annotations

import os

from assistant.ingest.readers import MAX_DEPTH, read_paths

from .hostile_files import deep_tree, remove_tree

FACT = "Harbour news\n\nThe harbour of {} is kept by Ana Lima.\n"


def test_a_folder_tree_1100_levels_deep_skips_the_deep_part_and_reads_the_rest(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    (root / "top.txt").write_text(FACT.format("Nore"))
    shallow = deep_tree(root / "a", 3)
    (shallow / "near.txt").write_text(FACT.format("Brisk"))
    deepest = deep_tree(root / "z", 1100)
    (deepest / "far.txt").write_text(FACT.format("Glenn"))
    try:
        report = read_paths([root])
    finally:
        remove_tree(root / "z")  # pytest removes old temporary folders recursively
    assert sorted(a.id for a in report.articles) == ["a/d/d/d/near", "top"]
    [warning] = [w for w in report.warnings if "folders below" in w]
    assert f"more than {MAX_DEPTH} folders below {root}" in warning and "\n" not in warning


def test_a_tree_within_the_depth_limit_is_read_whole(tmp_path):
    root = tmp_path / "tree"
    deepest = deep_tree(root, MAX_DEPTH)
    (deepest / "bottom.txt").write_text(FACT.format("Glenn"))
    report = read_paths([root])
    assert [a.text.strip() for a in report.articles] == ["The harbour of Glenn is kept by Ana Lima."]
    assert not report.warnings


def test_symbolic_links_inside_a_folder_are_not_followed_and_each_is_named(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(FACT.format("Secret"))
    root = tmp_path / "articles"
    root.mkdir()
    (root / "real.txt").write_text(FACT.format("Nore"))
    os.symlink(outside / "secret.txt", root / "outside.txt")
    os.symlink(outside, root / "linked-folder")
    os.symlink("real.txt", root / "again.txt")  # inside too: one policy for every link
    report = read_paths([root])
    assert [a.id for a in report.articles] == ["real"]
    for name in ("outside.txt", "linked-folder", "again.txt"):
        [w] = [w for w in report.warnings if f"{root / name}:" in w]
        assert "a symbolic link" in w and "not followed" in w
    # A link named directly is the user's choice: followed.
    assert [a.id for a in read_paths([root / "outside.txt"]).articles] == ["outside"]


def test_hidden_names_are_skipped_in_one_warning(tmp_path):
    root = tmp_path / "articles"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "notes.txt").write_text(FACT.format("Hidden"))
    (root / "...txt").write_text(FACT.format("Dots"))
    (root / ".draft.md").write_text(FACT.format("Draft"))
    (root / "real.txt").write_text(FACT.format("Nore"))
    report = read_paths([root])
    assert [a.id for a in report.articles] == ["real"]
    [w] = report.warnings
    assert "skipped 3 hidden name(s)" in w and "...txt" in w and ".git" in w and ".draft.md" in w
