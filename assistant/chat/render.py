"""HTML for the chat UI, built here and escaped here: no article or user text reaches the page unescaped.

Every piece of text that comes from an article, a file name or a user goes through :func:`esc`
(``html.escape``), so ``<script>``, ``<img onerror=...>`` and markdown ``[x](javascript:...)`` links
show up as text. Quotes are highlighted in their paragraph **by character offsets**
(``article.text[start:end]``), never by searching for the quoted string.

Example::

    from assistant import Assistant
    from assistant.chat.render import answer_html, sources_html
    a = Assistant.load("index")
    ans = a.ask("Which states recognize Abkhazia?")
    arts = {c.article_id: a.article(c.article_id) for c in ans.citations}
    html = answer_html(ans, arts)
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from urllib.parse import urlsplit

from ..records import Answer, Article, Citation

CONTEXT_CHARS = 700  # characters of surrounding paragraph shown around a quote in the chat
PANEL_CONTEXT_CHARS = 1400  # ... and in the sources panel
ARTICLES_PER_PAGE = 25
UPLOAD_PREFIX = "upload:"  # an uploaded file's recorded source (the server's temporary folder is gone)
SNIPPET_CHARS = 220  # characters of a matching passage shown in the article list
WEAK_SCORE = 0.15  # passages scored below this (or below a quarter of the best) are shown dimmed

HIGH_CONFIDENCE = 0.7
ABSTAIN_CONFIDENCE = 0.35  # Settings.abstain_threshold: below it the answer is "Not found"
CONFIDENCE_TIP = (
    "The estimated chance that this sentence holds the answer. It is calibrated on about 2,100 held-out "
    "SQuAD questions: of answers shown at 0.4-0.5, about 45% were right; at 0.8-0.9, about 83%. "
    "Below 0.35 the assistant says 'Not found'."
)
CONFIDENCE_LEGEND = (
    '<details class="aa-legend"><summary>What does the confidence mean?</summary><p>'
    "It estimates the chance that the answer sentence holds the right answer, measured on about 2,100 "
    "questions the model never saw (SQuAD; calibration error 0.03): of answers shown at 0.4–0.5 about 45% "
    "were right, at 0.8–0.9 about 83%.</p><ul>"
    '<li><span class="aa-badge aa-high">0.70 and up · likely right</span> about 4 in 5 are right</li>'
    '<li><span class="aa-badge aa-medium">0.35–0.70 · check the passage</span> about half are right: '
    "open the citation</li>"
    "<li>Below 0.35 the assistant answers “Not found in the articles” and lists the closest passages.</li>"
    "</ul><p>On short articles of news it is often cautious: right answers at 0.3–0.5 are common.</p></details>"
)
INTENTS = {
    "summary": "summary",
    "topic": "what the articles say",
    "articles": "articles that mention it",
    "why": "reasons",
}

SOURCES_EMPTY = (
    '<div class="aa-empty"><b>Sources</b><br>Ask a question: each passage behind the answer appears here, '
    "highlighted in its paragraph so you can check it at a glance.</div>"
)


def esc(value: object) -> str:
    """``value`` as HTML text: markup, entities and quotes escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def _text(value: str) -> str:
    """Escaped text with line breaks kept (Gradio strips leading whitespace, so no pre-wrap)."""
    return esc(value).replace("\f", "").replace("\r\n", "\n").replace("\n", "<br>")


def byline(author: str, date: str) -> str:
    """``"Author · Date"`` (escaped), or "" when neither is known."""
    return " · ".join(esc(x) for x in (author, date) if x)


def source_label(source: str) -> str:
    """Where an article came from, for display: an http(s) link or a file name (never a server path)."""
    if not source:
        return ""
    parts = urlsplit(source)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return f'<a href="{esc(source)}" target="_blank" rel="noopener noreferrer nofollow">{esc(parts.netloc)}</a>'
    return esc(source_label_text(source))


# --- passages in context -----------------------------------------------------------------------
def context_bounds(text: str, start: int, end: int, max_chars: int = CONTEXT_CHARS) -> tuple[int, int]:
    """The paragraph around ``text[start:end]``, trimmed to about ``max_chars`` at word boundaries."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    a = text.rfind("\n\n", 0, start)
    a = 0 if a < 0 else a + 2
    b = text.find("\n\n", end)
    b = len(text) if b < 0 else b
    budget = max(0, max_chars - (end - start)) // 2
    if start - a > budget:
        a = start - budget
        space = text.find(" ", a, start)
        a = space + 1 if space >= 0 else a
    if b - end > budget:
        b = end + budget
        space = text.rfind(" ", end, b)
        b = space if space > end else b
    return a, b


def highlighted_context(
    article: Article | None,
    start: int,
    end: int,
    *,
    focus: tuple[int, int] | None = None,
    max_chars: int = CONTEXT_CHARS,
) -> str:
    """The passage ``article.text[start:end]`` marked inside its paragraph (offsets, not search).

    ``focus`` (article offsets inside the passage) is emphasised too: the answer's name/date/number.
    """
    if article is None or not article.text:
        return '<div class="aa-context aa-muted">The article is no longer in the index.</div>'
    text = article.text
    if not (0 <= start <= end <= len(text)):
        return '<div class="aa-context aa-muted">This passage is out of date: the article has changed.</div>'
    a, b = context_bounds(text, start, end, max_chars)
    quote = text[start:end]
    if focus and start <= focus[0] < focus[1] <= end:
        fa, fb = focus[0] - start, focus[1] - start
        inner = f'{_text(quote[:fa])}<strong class="aa-focus">{_text(quote[fa:fb])}</strong>{_text(quote[fb:])}'
    else:
        inner = _text(quote)
    lead = "… " if a > 0 and text[a - 1] != "\n" else ""
    tail = " …" if b < len(text) and text[b] != "\n" else ""
    return (
        f'<div class="aa-context">{lead}{_text(text[a:start])}<mark class="aa-quote">{inner}</mark>'
        f"{_text(text[end:b])}{tail}</div>"
    )


def _focus(answer: Answer, citation: Citation, n: int) -> tuple[int, int] | None:
    """The answer span in article offsets, for the citation the answer sentence comes from."""
    if n != 0 or answer.abstained or answer.span is None or answer.text != citation.quote:
        return None
    return citation.start + answer.span[0], citation.start + answer.span[1]


def _stale(article: Article | None) -> str:
    """Why a citation cannot be shown in context: its article was removed, or has changed since."""
    if article is None:
        return '<div class="aa-context aa-muted">The article is no longer in the index.</div>'
    return '<div class="aa-context aa-muted">This passage is out of date: the article has changed.</div>'


_HEADER_FIELDS = {"author": "Byline", "date": "Date", "source": "Source"}


def _quoted_text(citation: Citation, article: Article) -> str:
    """What a citation quotes: the article text, or a header field (author, date, source)."""
    name = getattr(citation, "field", "") or ""
    return str(getattr(article, name, "") or "") if name in _HEADER_FIELDS else article.text


def _valid(citation: Citation, article: Article | None) -> bool:
    return article is not None and _quoted_text(citation, article)[citation.start : citation.end] == citation.quote


def _context(answer: Answer, citation: Citation, n: int, article: Article | None, max_chars: int) -> str:
    """The cited passage marked in its paragraph, or the header field marked in the article's header."""
    if not _valid(citation, article):
        return _stale(article)
    assert article is not None
    name = getattr(citation, "field", "") or ""
    if name not in _HEADER_FIELDS:
        return highlighted_context(
            article, citation.start, citation.end, focus=_focus(answer, citation, n), max_chars=max_chars
        )
    value = _quoted_text(citation, article)
    a, b = citation.start, citation.end
    marked = f'{_text(value[:a])}<mark class="aa-quote">{_text(value[a:b])}</mark>{_text(value[b:])}'
    return (
        f'<div class="aa-context"><span class="aa-label">From the article header · {_HEADER_FIELDS[name]}</span> '
        f"{marked}</div>"
    )


# --- chat messages -----------------------------------------------------------------------------
def user_html(question: str) -> str:
    """A user's message as it appears in the chat."""
    return _text(question)


def answer_text_html(answer: Answer) -> str:
    """The answer sentence with its focused span (name/date/number) emphasised."""
    text = answer.text
    if answer.span and 0 <= answer.span[0] < answer.span[1] <= len(text):
        a, b = answer.span
        return f'{_text(text[:a])}<mark class="aa-span">{_text(text[a:b])}</mark>{_text(text[b:])}'
    return _text(text)


def page_label(citation: Citation) -> str:
    """ " · p. 3" for a citation into a PDF, else ""."""
    return f" · p. {int(citation.page)}" if getattr(citation, "page", None) else ""


def cite_id(turn: int | None, n: int, where: str = "c") -> str:
    """The element id of citation ``n`` of answer ``turn`` (``c`` in the chat, ``s`` in the sources panel)."""
    return f"aa-{where}{turn if turn is not None else 'x'}-{n}"


def citation_item_html(
    answer: Answer, citation: Citation, n: int, article: Article | None, turn: int | None = None
) -> str:
    """One numbered citation: quote, title, byline and date; opens to the passage in its paragraph."""
    meta = byline(citation.author, citation.date) + page_label(citation)
    body = _context(answer, citation, n, article, CONTEXT_CHARS)
    # The answer sentence is the first quote: do not print it twice.
    sentences = _sentence_count(answer)
    field = getattr(citation, "field", "") or ""
    reading = _sentence_refs(answer).index(n) if sentences > 1 and n in _sentence_refs(answer) else -1
    if answer.abstained:
        same = False
    elif sentences > 1:
        same = reading >= 0
    else:
        same = n == 0 and citation.quote == answer.text
    tag = "span" if citation.has_own_quotes else "q"  # <q> adds quotation marks around it
    quote = "" if same else f'<{tag} class="aa-q">{_text(citation.quote)}</{tag}>'
    if same and field in _HEADER_FIELDS:
        hint = f' · <span class="aa-hint">the answer, from the article header ({_HEADER_FIELDS[field].lower()})</span>'
    elif same and sentences > 1:
        hint = f' · <span class="aa-hint">sentence {reading + 1} above; open to see it in its paragraph</span>'
    elif same:
        hint = ' · <span class="aa-hint">the answer above; open to see it in its paragraph</span>'
    else:
        hint = ""
    return (
        f'<li class="aa-cite" id="{cite_id(turn, n)}"><details><summary><span class="aa-num">{n + 1}</span>'
        f'<span class="aa-cite-body">{quote}'
        f'<span class="aa-src"><span class="aa-src-title">{esc(citation.title or citation.article_id)}</span>'
        f"{' · ' + meta if meta else ''}{hint}</span></span></summary>{body}"
        f'<div class="aa-where">{esc(citation.article_id)}{page_label(citation)} · characters '
        f"{citation.start}–{citation.end}</div></details></li>"
    )


def copy_text(answer: Answer) -> str:
    """What the copy button puts on the clipboard: the answer and its first citation, as plain text."""
    if answer.abstained:
        return f"{answer.question}\nNot found in the articles."
    refs = _sentence_refs(answer) if _sentence_count(answer) > 1 else [0]
    lines = [_numbered_sentences(answer, lambda t: t) if len(refs) > 1 else answer.text]
    for i, c in enumerate(answer.citations):
        if i not in refs:
            continue
        where = ", ".join(x for x in (c.title or c.article_id, c.author, c.date) if x) + page_label(c).replace(
            " · ", ", "
        )
        lines.append(f"[{i + 1}] {where}: “{c.quote}”")
    return "\n\n".join(lines)


def answer_html(answer: Answer, articles: Mapping[str, Article | None], turn: int | None = None) -> str:
    """An answer (or an abstention) as a chat message, with its numbered, expandable citations.

    ``turn`` (the answer's place in the conversation) gives the citations element ids that the
    superscript markers link to.
    """
    items = [citation_item_html(answer, c, i, articles.get(c.article_id), turn) for i, c in enumerate(answer.citations)]
    cites = "".join(items)
    notes = "".join(f'<div class="aa-note">{esc(note)}</div>' for note in answer.notes)
    # The text to copy rides along as a hidden element: the chat's sanitiser keeps text, not data-* attributes.
    copy = (
        '<button class="aa-copy" type="button" title="Copy the answer and its source">Copy</button>'
        f'<span class="aa-copy-text">{esc(copy_text(answer))}</span>'
    )
    if answer.abstained:
        closest = (
            f'<div class="aa-label">Closest passages</div><ol class="aa-cites aa-closest">{cites}</ol>' if cites else ""
        )
        return (
            f'<div class="aa-msg aa-abstain"><div class="aa-abstain-head"><span class="aa-icon">∅</span>'
            f"Not found in the articles</div>"
            f'<p class="aa-abstain-text">No passage answers this confidently (confidence {answer.confidence:.2f}).'
            f"{' Open the closest ones to check.' if cites else ''}</p>{searched_html(answer)}{closest}{notes}</div>"
        )
    sentences = _sentence_count(answer)
    refs = _sentence_refs(answer) if sentences > 1 else [0]
    if sentences > 1:
        body = " ".join(
            f'<span class="aa-sentence">{_text(c.quote)}{"" if j is None else _ref(turn, j)}</span>'
            for c, j in zip(answer.sentences, refs)
        )
    else:
        body = answer_text_html(answer) + (_ref(turn, 0) if answer.citations else "")
    main = [item for i, item in enumerate(items) if i in refs]
    rest = [item for i, item in enumerate(items) if i not in refs]
    span = (
        f'<div class="aa-short"><span class="aa-label">Answer</span> {esc(answer.span_text)}</div>'
        if answer.span_text and answer.span_text != answer.text
        else ""
    )
    more = (
        f'<details class="aa-more"><summary>{len(rest)} more passage{"s" if len(rest) > 1 else ""}'
        f'</summary><ol class="aa-cites">{"".join(rest)}</ol></details>'
        if rest
        else ""
    )
    kind = f' <span class="aa-intent" title="the kind of answer">{esc(INTENTS.get(answer.intent, ""))}</span>'
    return (
        f'<div class="aa-msg aa-answer{" aa-multi" if sentences > 1 else ""}"><p class="aa-text">{body}</p>{span}'
        f'<div class="aa-meta">{_confidence_badge(answer.confidence)} verbatim from the articles'
        f"{kind if INTENTS.get(answer.intent) else ''} {copy}</div>"
        f"{searched_html(answer)}"
        f'<ol class="aa-cites">{"".join(main)}</ol>{more}{notes}</div>'
    )


def _sentence_count(answer: Answer) -> int:
    """How many cited sentences the answer is made of (1 for a one-sentence answer)."""
    sents = list(getattr(answer, "sentences", None) or [])
    if len(sents) > 1 and not answer.abstained and len(answer.citations) >= len(sents):
        return len(sents)
    return 1


def _sentence_refs(answer: Answer) -> list[int | None]:
    """For each sentence of the answer (reading order), the index of its citation (citations come
    strongest first), or None when none quotes it."""
    where = {(c.article_id, c.field, c.start, c.end): i for i, c in reversed(list(enumerate(answer.citations)))}
    return [where.get((s.article_id, s.field, s.start, s.end)) for s in answer.sentences]


def _numbered_sentences(answer: Answer, text) -> str:
    """The sentences in reading order, each followed by its citation's number ``[n]``."""
    return " ".join(
        text(s.quote) + ("" if j is None else f" [{j + 1}]") for s, j in zip(answer.sentences, _sentence_refs(answer))
    )


def _ref(turn: int | None, i: int) -> str:
    return (
        f'<sup class="aa-ref-wrap"><a class="aa-ref" href="#{cite_id(turn, i)}" title="Show source {i + 1}">'
        f"{i + 1}</a></sup>"
    )


def pending_html() -> str:
    """The placeholder shown at once while an answer is being looked up."""
    return '<div class="aa-pending" role="status"><span class="aa-spinner">◐</span> Searching the articles…</div>'


def searched_html(answer: Answer) -> str:
    """What retrieval searched when a follow-up used the conversation: folded, in words."""
    query = answer.search_query or ""
    if not query or query == answer.question:
        return ""
    asked, sep, borrowed = query.partition(" | ")
    parts = []
    if asked and asked != answer.question:
        parts.append(f'<div><span class="aa-label">Searched as</span> {esc(asked)}</div>')
    if sep and borrowed.strip():
        terms = ", ".join(esc(t) for t in dict.fromkeys(borrowed.split()))
        parts.append(f'<div><span class="aa-label">Plus words from earlier questions</span> {terms}</div>')
    if not parts:
        return ""
    return (
        '<details class="aa-searched"><summary>Used the conversation to search</summary>'
        f'<div class="aa-searched-body">{"".join(parts)}</div></details>'
    )


def confidence_level(confidence: float) -> str:
    """``high`` (≥ 0.7: about 4 in 5 such answers were right), ``medium`` (0.35–0.7: about half; check
    the passage) or ``low`` (below the 0.35 at which the assistant abstains)."""
    return "high" if confidence >= HIGH_CONFIDENCE else "medium" if confidence >= ABSTAIN_CONFIDENCE else "low"


_LEVEL_WORDS = {"high": "likely right", "medium": "check the passage", "low": "weak"}


def _confidence_badge(confidence: float) -> str:
    level = confidence_level(confidence)
    return (
        f'<span class="aa-badge aa-{level}" title="{esc(CONFIDENCE_TIP)}">confidence {confidence:.2f} · '
        f"{_LEVEL_WORDS[level]}</span>"
    )


def notice_html(message: str) -> str:
    """A message that is neither answer nor abstention (e.g. an empty question)."""
    return f'<div class="aa-msg aa-notice">{esc(message)}</div>'


# --- side panels -------------------------------------------------------------------------------
def _weak(score: float, best: float) -> bool:
    return score < WEAK_SCORE or score < 0.25 * best


def _source_cards(answer: Answer, articles: Mapping[str, Article | None], turn: int | None) -> str:
    best = max((c.score for c in answer.citations), default=0.0)
    cards = []
    for i, c in enumerate(answer.citations):
        article = articles.get(c.article_id)
        meta = byline(c.author, c.date) + page_label(c)
        where = source_label(c.source or (article.source if article else ""))
        context = _context(answer, c, i, article, PANEL_CONTEXT_CHARS)
        weak = _weak(c.score, best)
        flag = ' <span class="aa-weak-tag">weak match</span>' if weak else ""
        cards.append(
            f'<section class="aa-card{" aa-weak" if weak else ""}" id="{cite_id(turn, i, "s")}">'
            f'<div class="aa-card-head"><span class="aa-num">{i + 1}</span>'
            f'<div><div class="aa-title">{esc(c.title or c.article_id)}{flag}</div>'
            f'<div class="aa-byline">{meta}{" · " if meta and where else ""}{where}</div></div></div>{context}'
            f'<div class="aa-where">{esc(c.article_id)} · characters {c.start}–{c.end} · score {c.score:.2f}</div>'
            f"</section>"
        )
    return "".join(cards)


def sources_html(answer: Answer | None, articles: Mapping[str, Article | None]) -> str:
    """The sources panel for one answer: every cited passage highlighted in its paragraph."""
    if answer is None or not answer.citations:
        return SOURCES_EMPTY
    head = "Closest passages (no answer)" if answer.abstained else "Sources of the answer"
    return (
        f'<div class="aa-sources"><div class="aa-panel-head">{head}</div>{_source_cards(answer, articles, None)}</div>'
    )


def sources_panel_html(entries: Sequence[tuple[int, Answer, Mapping[str, Article | None]]]) -> str:
    """The sources panel for a conversation: one group per answer (``(turn, answer, articles)``,
    newest first); passages that scored weakly are dimmed and marked."""
    groups = []
    for turn, answer, articles in entries:
        if not answer.citations:
            continue
        kind = "no answer: closest passages" if answer.abstained else f"confidence {answer.confidence:.2f}"
        groups.append(
            f'<div class="aa-group" id="aa-g{turn}"><div class="aa-group-head"><span class="aa-label">'
            f'Question {turn + 1}</span> {esc(answer.question)} <span class="aa-muted">· {esc(kind)}</span></div>'
            f"{_source_cards(answer, articles, turn)}</div>"
        )
    if not groups:
        return SOURCES_EMPTY
    return (
        f'<div class="aa-sources"><div class="aa-panel-head">Sources, newest answer first</div>{"".join(groups)}</div>'
    )


def conversation_markdown(entries: Sequence[tuple[str, Answer | None, str]]) -> str:
    """A conversation as Markdown: each question, its answer (or why there is none) and the citations
    (title, byline, date, page, id and character offsets, quote). ``entries``: (question, answer, error)."""
    out = ["# Conversation with the Article Assistant", ""]
    for n, (question, answer, error) in enumerate(entries, 1):
        out += [f"## {n}. {_md(question)}", ""]
        if answer is None:
            out += [f"_{_md(error or 'no answer')}_", ""]
            continue
        if answer.abstained:
            out += [f"**Not found in the articles** (confidence {answer.confidence:.2f}).", ""]
        elif _sentence_count(answer) > 1:
            out += [_numbered_sentences(answer, _md), ""]
        else:
            out += [f"{_md(answer.text)} [1]", ""]
            if answer.span_text and answer.span_text != answer.text:
                out += [f"**Answer:** {_md(answer.span_text)}", ""]
            out += [f"_Confidence {answer.confidence:.2f}; verbatim from the articles._", ""]
        if answer.citations:
            out.append("Closest passages:" if answer.abstained else "Sources:")
            out.append("")
            for i, c in enumerate(answer.citations, 1):
                meta = ", ".join(_md(x) for x in (c.author, c.date) if x)
                page = f", p. {c.page}" if c.page else ""
                out.append(
                    f"{i}. **{_md(c.title or c.article_id)}**{' — ' + meta if meta else ''}{page} "
                    f"(`{c.article_id}`, characters {c.start}–{c.end}, score {c.score:.2f})  "
                )
                out.append(f"   > {_md(' '.join(c.quote.split()))}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    """Text for Markdown: line breaks folded, markup characters escaped (no links or HTML run)."""
    text = " ".join(str(text or "").split())
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)


def filter_articles(articles: Sequence[Article], query: str = "") -> list[Article]:
    """The articles whose title, author, date, id or source contain every word of ``query``."""
    words = str(query or "").casefold().split()
    if not words:
        return list(articles)
    return [art for art in articles if all(w in article_haystack(art) for w in words)]


def article_haystack(art: Article) -> str:
    """What a search of the article list matches besides the text: title, author, date, id, source (casefolded)."""
    return " ".join((art.title, art.author, art.date, art.id, source_label_text(art.source))).casefold()


def search_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """A window of ``text`` around the first word of ``query`` it holds, the query's words marked (escaped)."""
    low = text.casefold()
    words = [w for w in dict.fromkeys(str(query or "").casefold().split()) if w]
    hits = sorted((i, i + len(w)) for w in words for i in _occurrences(low, w))
    first = hits[0][0] if hits else 0
    a = max(0, first - width // 3)
    if a:
        space = text.find(" ", a, first)
        a = space + 1 if space >= 0 else a
    b = min(len(text), a + width)
    if b < len(text):
        space = text.rfind(" ", first, b)
        b = space if space > first else b
    out, pos = [], a
    for x, y in hits:
        if x < pos or y > b:
            continue
        out += [_text(text[pos:x]), f'<mark class="aa-hit">{_text(text[x:y])}</mark>']
        pos = y
    out.append(_text(text[pos:b]))
    return ("… " if a else "") + "".join(out) + (" …" if b < len(text) else "")


def _occurrences(haystack: str, word: str) -> list[int]:
    out, i = [], haystack.find(word)
    while i >= 0 and len(out) < 50:
        out.append(i)
        i = haystack.find(word, i + len(word))
    return out


def source_label_text(source: str) -> str:
    """Where an article came from, as plain text: a URL, or a file name (an upload's without "upload:")."""
    parts = urlsplit(source or "")
    if parts.scheme in {"http", "https"} and parts.netloc:
        return source
    return PurePath((source or "").removeprefix(UPLOAD_PREFIX).replace("\\", "/")).name


def page_count(n: int, per_page: int = ARTICLES_PER_PAGE) -> int:
    return max(1, -(-n // per_page))


def articles_html(
    articles: Sequence[Article],
    new_ids: Sequence[str] = (),
    *,
    query: str = "",
    page: int = 0,
    per_page: int = ARTICLES_PER_PAGE,
) -> str:
    """One page of the indexed articles (title, byline, id), filtered by ``query``;
    ``new_ids`` are marked as just added."""
    new = set(new_ids)
    total = len(articles)
    shown = filter_articles(articles, query)
    pages = page_count(len(shown), per_page)
    page = max(0, min(int(page or 0), pages - 1))
    items = [
        _article_item(art.id, art.title, art.author, art.date, art.id in new)
        for art in shown[page * per_page : (page + 1) * per_page]
    ]
    if query and not shown:
        items.append(f'<li class="aa-muted">No article matches “{esc(query)}”.</li>')
    return _article_panel(items, total, len(shown), query, page, pages if len(shown) > per_page else 1, per_page)


def _article_item(aid: str, title: str, author: str, date: str, is_new: bool, extra: str = "") -> str:
    """One article of a list: title (marked when just added), byline and id, then ``extra``."""
    meta = byline(author, date)
    badge = '<span class="aa-new">new</span>' if is_new else ""
    return (
        f'<li><div class="aa-title">{esc(title or aid)}{badge}</div>'
        f'<div class="aa-byline">{meta}{" · " if meta else ""}<code>{esc(aid)}</code></div>{extra}</li>'
    )


def _article_panel(items: list[str], total: int, matched: int, query: str, page: int, pages: int, per_page: int) -> str:
    """The article list with its head (how many indexed, how many match) and, past one page, the page line."""
    head = f"{total} article{'s' if total != 1 else ''} indexed"
    if query:
        head += f" · {matched} match{'es' if matched != 1 else ''} “{esc(query)}”"
    nav = f'<div class="aa-pageinfo">page {page + 1} of {pages} · {per_page} a page</div>' if pages > 1 else ""
    return (
        f'<div class="aa-articles"><div class="aa-panel-head">{head}</div>'
        f'<ul class="aa-article-list">{"".join(items)}</ul>{nav}</div>'
    )


def search_results_html(result: Mapping[str, object], new_ids: Sequence[str] = ()) -> str:
    """One page of :meth:`ShelfActions.search` results: title, byline, id and, for a match in the text,
    the matching passage with the searched words marked; ``new_ids`` are marked as just added."""
    new = set(new_ids)
    query = str(result.get("query") or "")
    rows = list(result.get("articles") or [])  # type: ignore[call-overload]
    total, shown = int(result.get("indexed") or 0), int(result.get("total") or 0)
    page, pages, per_page = (
        int(result.get("page") or 0),
        int(result.get("pages") or 1),
        int(result.get("per_page") or 1),
    )
    items = []
    for row in rows:
        passage = row.get("passage")
        snippet = (
            f'<div class="aa-snippet"><span class="aa-label">In the text</span> '
            f"{search_snippet(passage['text'], query)}</div>"
            if passage
            else ""
        )
        items.append(_article_item(row["id"], row["title"], row["author"], row["date"], row["id"] in new, snippet))
    if query and not rows:
        items.append(f'<li class="aa-muted">No article mentions “{esc(query)}” (title, author, date, id or text).</li>')
    return _article_panel(items, total, shown, query, page, pages, per_page)


def confirm_remove_html(titles: Sequence[str]) -> str:
    """The question asked before removing articles: which ones, and what it does."""
    n = len(titles)
    names = ", ".join(f"“{esc(t)}”" for t in titles[:5]) + (f" and {n - 5} more" if n > 5 else "")
    return (
        f'<div class="aa-confirm" role="alert"><b>Remove {n} article{"s" if n != 1 else ""}?</b> {names}. '
        "The index is republished without them; add the file again to bring one back.</div>"
    )


def status_html(kind: str, title: str, lines: Sequence[str] = ()) -> str:
    """An upload status box; ``kind`` is ``ok``, ``warn`` or ``error``."""
    body = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return f'<div class="aa-status aa-status-{esc(kind)}"><b>{esc(title)}</b>{f"<ul>{body}</ul>" if body else ""}</div>'


def header_html(counts: Mapping[str, object] | None) -> str:
    """The page header with what is indexed."""
    c = counts or {}
    n, k = int(c.get("articles", 0) or 0), int(c.get("chunks", 0) or 0)
    stats = f"{n} article{'s' if n != 1 else ''} · {k} passage{'s' if k != 1 else ''} indexed"
    return (
        '<div class="aa-header"><div><h1>Article Assistant</h1>'
        "<p>Answers are verbatim passages from your articles, each with a citation you can check. "
        "Nothing is generated.</p></div>"
        f'<div class="aa-stats">{esc(stats)}</div></div>'
    )
