"""Tables are read row by row with their column names (Word, Markdown, HTML), offsets exact, so a question
about one row is answered from that row."""

from __future__ import annotations

import pytest

from assistant.ingest.readers import read_paths
from assistant.ingest.tables import html_tables, markdown_tables, table_lines

HONEY = [["Variety", "Price per kg", "Origin"], ["Chestnut", "12 euros", "Piedmont"], ["Acacia", "14 euros", "Hungary"]]


def test_each_row_carries_its_header_cells():
    lines = table_lines(HONEY)
    assert lines[1:] == [
        "Variety: Chestnut | Price per kg: 12 euros | Origin: Piedmont",
        "Variety: Acacia | Price per kg: 14 euros | Origin: Hungary",
    ]
    assert table_lines([["June", "Full"]]) == ["June | Full"]  # a lone row has no header to name
    assert table_lines([["A", "A"], ["x", "y"]])[1] == "x | y"  # no usable header: cells as they are
    assert table_lines([[" ", ""], ["Month", "Closure"], ["June", ""]]) == ["Month | Closure", "Month: June"]


def test_markdown_pipe_tables_and_html_tables():
    md = "Prices this season.\n| Variety | Price per kg |\n| :--- | ---: |\n| Acacia | 14 euros |\nAfter the table.\n"
    out = markdown_tables(md)
    assert "\n\nVariety: Acacia | Price per kg: 14 euros\n\nAfter the table." in out
    assert markdown_tables("a | b without a rule\n") == "a | b without a rule\n"
    html = "<html><body><table><tr><th>Variety</th><th>Price per kg</th></tr><tr><td>Acacia</td><td>14 euros</td></tr></table></body></html>"
    assert "<p>Variety: Acacia | Price per kg: 14 euros</p>" in html_tables(html)
    assert html_tables("<p>no table</p>") == "<p>no table</p>"


@pytest.fixture
def honey_files(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("Honey from the valley", 0)
    d.add_paragraph("The cooperative sells three kinds of honey this season, its manager said on Monday.")
    table = d.add_table(rows=len(HONEY), cols=3)
    for r, row in enumerate(HONEY):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    d.add_paragraph("Orders ship within a week.")
    d.save(str(tmp_path / "honey.docx"))
    (tmp_path / "tea.md").write_text(
        "# Tea prices\n\nThe tea house on the square lists its teas and what a tin costs.\n\n"
        "| Tea | Price per tin | Grown in |\n|---|---|---|\n| Sencha | 9 euros | Japan |\n| Assam | 7 euros | India |\n",
        encoding="utf-8",
    )
    return tmp_path


def test_a_row_question_is_answered_from_its_row(honey_files, tmp_path, embedder):
    from assistant import Assistant
    from assistant.ingest.pipeline import ingest_paths

    read = read_paths([honey_files / "honey.docx"])
    (article,) = read.articles
    assert "Variety: Acacia | Price per kg: 14 euros | Origin: Hungary" in article.text
    index = tmp_path / "index"
    ingest_paths(index, [honey_files / "honey.docx", honey_files / "tea.md"], embedder)
    a = Assistant.load(index, embedder=embedder)
    ans = a.ask("What does acacia honey cost per kg?")
    assert not ans.abstained and "14 euros" in ans.text, (ans.text, ans.confidence)
    cite = ans.citations[0]
    assert a.article(cite.article_id).text[cite.start : cite.end] == cite.quote  # offsets exact
    assert "Tea: Assam | Price per tin: 7 euros | Grown in: India" in a.article("tea").text
    tea = a.ask("How much does Assam tea cost per tin?")
    assert "7 euros" in tea.span_text, tea.text


def test_each_row_answers_for_itself(honey_files, tmp_path, embedder):
    """Rows of one table read alike: the answer comes from the row naming what the question names,
    from the column the question asks about (not a neighbouring row's cell)."""
    from assistant import Assistant
    from assistant.ingest.pipeline import ingest_paths

    index = tmp_path / "index"
    ingest_paths(index, [honey_files / "tea.md"], embedder)
    a = Assistant.load(index, embedder=embedder)
    for question, row, cell in (
        ("Where is Assam tea grown?", "Tea: Assam", "India"),
        ("Where is Sencha grown?", "Tea: Sencha", "Japan"),
        ("How much does Sencha cost per tin?", "Tea: Sencha", "9 euros"),
        ("Which tea is grown in India?", "Tea: Assam", "Assam"),
    ):
        ans = a.ask(question)
        assert not ans.abstained and ans.text.startswith(row) and ans.span_text == cell, (question, ans.text)
        cite = ans.citations[0]
        assert a.article("tea").text[cite.start : cite.end] == cite.quote == ans.text
    a.close()


def test_row_cells_and_the_column_asked():
    from assistant.answer.rows import cell_answer, cells, is_row

    row = "Variety: Acacia | Price per kg: 14 euros | Origin: Hungary"
    assert is_row(row) and not is_row("Variety | Price per kg | Origin") and not is_row("Note: prices vary.")
    assert [(h, row[a:b]) for h, a, b in cells(row)] == [
        ("Variety", "Acacia"),
        ("Price per kg", "14 euros"),
        ("Origin", "Hungary"),
    ]
    got = cell_answer("What does acacia honey cost per kg?", row)
    assert got is not None and row[got[0] : got[1]] == "14 euros"
    assert cell_answer("Tell me about acacia", row) is None  # no column asked: the whole row answers
