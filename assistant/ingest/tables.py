"""Tables as text that keeps their column names: each row becomes one line ``Header: cell | Header: cell``.

A row read without its header ("Chestnut | 12 euros") cannot answer "what does acacia honey cost per
kg?"; ``Variety: Acacia | Price per kg: 14 euros`` can. Used for Word tables (``formats.py``), Markdown pipe
tables and HTML ``<table>`` elements (``readers.py``). The article's stored text is this text, so chunk and
citation offsets stay exact into it. Each row is its own paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

CELL_SEP = " | "


def _clean(cell: str) -> str:
    return " ".join(str(cell or "").split())


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """One line per row; with a header row (the first, of at least two named cells) every later cell is
    prefixed by its column's name. Repeated neighbouring cells (merged cells) are kept once."""
    clean = [[_clean(c) for c in row] for row in rows]
    clean = [row for row in clean if any(row)]
    if not clean:
        return []
    header = clean[0]
    named = len(header) >= 2 and all(header) and len(set(header)) == len(header) and len(clean) > 1
    out = []
    if not named:
        for row in clean:
            out.append(CELL_SEP.join(_dedupe([c for c in row if c])))
        return [line for line in out if line]
    out.append(CELL_SEP.join(header))
    for row in clean[1:]:
        cells = []
        for i, cell in enumerate(row):
            if not cell or (i and cell == row[i - 1] and i < len(header) and header[i] == header[i - 1]):
                continue
            name = header[i] if i < len(header) else ""
            cells.append(f"{name}: {cell}" if name and name != cell else cell)
        if cells:
            out.append(CELL_SEP.join(_dedupe(cells)))
    return out


def _dedupe(cells: list[str]) -> list[str]:
    out: list[str] = []
    for c in cells:
        if not out or out[-1] != c:
            out.append(c)
    return out


_MD_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _md_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", line)]


def markdown_tables(text: str) -> str:
    """``text`` with each Markdown pipe table (header, ``---`` rule, rows) rewritten by :func:`table_lines`,
    one row per paragraph; everything else unchanged."""
    if "|" not in text or "-" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and "|" in lines[i] and _MD_RULE.match(lines[i + 1]) and "|" in lines[i + 1] + lines[i]:
            rows = [_md_cells(lines[i])]
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                rows.append(_md_cells(lines[j]))
                j += 1
            if out and out[-1].strip():
                out.append("")
            out.append("\n\n".join(table_lines(rows)))
            if j < len(lines) and lines[j].strip():
                out.append("")
            i = j
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def html_tables(raw: str) -> str:
    """An HTML page with each ``<table>`` replaced by one ``<p>`` per row (see :func:`table_lines`), so the
    text extractor keeps the column names; the page unchanged when it has no table or cannot be parsed."""
    if "<table" not in raw.lower():
        return raw
    try:
        import lxml.html

        tree = lxml.html.fromstring(raw)
        tables = list(tree.iter("table"))
        for table in reversed(tables):  # innermost last: nested tables are read with their parent
            if table.getparent() is None or any(t is not table for t in table.iterancestors("table")):
                continue
            rows = []
            for tr in table.iter("tr"):
                rows.append([cell.text_content() for cell in tr if cell.tag in ("td", "th")])
            block = lxml.html.Element("div")
            for line in table_lines(rows):
                p = lxml.html.Element("p")
                p.text = line
                block.append(p)
            block.tail = table.tail
            table.getparent().replace(table, block)
        return lxml.html.tostring(tree, encoding="unicode")
    except (ValueError, TypeError, ImportError, AttributeError):
        return raw
