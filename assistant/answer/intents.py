"""What kind of answer a question wants, and which story it names: rules, no model.

The kinds (``Intent.kind``):

- ``summary``: "Summarise the story about X", "What is the report on X about?", "Give me the gist of …"
- ``articles``: "Which articles mention X?", "Which stories talk about X?"; "Which articles quote X?"
  (``speaker`` set: the articles where X is quoted)
- ``quote``: "What did X say about Y?", "How did X describe Y?", "Who said …?"
- ``topic``: "What does the article on X say about Y?", "Tell me about Y", "What happened to Y?"
- ``why``: "Why …?", "How did …?", "What caused …?"
- ``yesno``: "Did …?", "Is …?", "Has …?"
- ``factoid``: everything else (who/what/when/where/how many …)

A story descriptor ("according to the story about Delta's blogging attendant", "in the report on
the DS launch") names the article; it is cut out of the question the reader reads and kept in
``Intent.story`` to pick the article.

Example::

    from assistant.answer.intents import classify
    classify("Summarise the story about the Kyrgyz election ink").kind    # "summary"
    classify("Summarise the story about the Kyrgyz election ink").story   # "the Kyrgyz election ink"
    classify("What did Wenger say about the fine?").speaker                # "Wenger"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FACTOID, QUOTE, TOPIC, SUMMARY, WHY, YESNO, ARTICLES = (
    "factoid",
    "quote",
    "topic",
    "summary",
    "why",
    "yesno",
    "articles",
)
KINDS = (FACTOID, QUOTE, TOPIC, SUMMARY, WHY, YESNO, ARTICLES)

_DOC = r"(?:article|story|stories|report|piece|item|news|coverage|feature|column|interview|bit|one|text|write-?up)"
_EVENT = (
    r"row|rows|case|affair|saga|dispute|scandal|strike|deal|trial|lawsuit|launch|ban|protest|inquiry|crisis|"
    r"controversy|campaign|battle|fight|takeover|merger|bid|vote|election|auction|attack|arrest|sale|plan|plans|move"
)
_DOCS = r"(?:articles|stories|reports|pieces|items|texts|documents|news items|ones)"
_ABOUT = r"(?:about|on|of|covering|concerning|regarding|into|describing|that (?:covers|covered|describes|is about))"
_SAY = r"(?:say|said|says|tell|told|think|thinks|thought|claim|claimed|warn|warned|add|added|describe|described|call|called|reveal|revealed|admit|admitted|argue|argued|insist|insisted|comment|commented|mention|mentioned|explain|explained|suggest|suggested|predict|predicted|sum up|summed up|sums up|put it|respond|responded|react|reacted)"

# "according to the story about X", "in the report on X", "from that X story"
_STORY = re.compile(
    rf"(?:,\s*)?\b(?:(?:according|going) (?:to|by)|in|from|within|based on|per|as (?:reported|described|told) in)\s+"
    rf"(?:the|that|this|a)\s+(?:bbc\s+|news\s+)?{_DOC}\s+{_ABOUT}\s+(?P<story>[^,?;]+?)\s*(?=[,?;]|$)",
    re.I,
)
_STORY_LEAD = re.compile(  # "In the story about X, who …?"
    rf"^\s*(?:(?:according|going) to|in|from|within|based on)\s+(?:the|that|this)\s+(?:bbc\s+|news\s+)?{_DOC}\s+{_ABOUT}\s+"
    rf"(?P<story>[^,?]+?)\s*,\s*(?P<rest>.+)$",
    re.I,
)
_STORY_CLAUSE = re.compile(  # "In the feta row, who said …?", "In the Baghdad Blogger festival piece, why …?"
    # The clause must end on a word for a story or a news event: "In the Philippines, …" and "In the mid 18th
    # century, …" are the question's own context, not a story.
    rf"^\s*(?:in|according to|from|within)\s+(?:the|that|this)\s+(?P<story>[^,?]{{0,80}}?\b(?:{_DOC}|{_EVENT}))\s*,\s*"
    r"(?P<rest>(?:who|whom|whose|what|when|where|why|how|which|did|does|do|is|are|was|were|has|have|had|will|would|can|could)\b.+)$",
    re.I,
)
_STORY_ADJ = re.compile(  # "in that Kyrgyz ink story", "in the Nintendo DS article"
    rf"(?:,\s*)?\b(?:according to|in|from)\s+(?:the|that|this)\s+(?P<story>(?:[\w'’.-]+\s+){{1,5}}?){_DOC}\b",
    re.I,
)

#: A summary asked of no named story: "Summarise", "Give me the gist", "What is this about?", "TL;DR".
_SUMMARY_BARE = re.compile(
    rf"^\s*(?:please\s+|can you\s+|could you\s+)?(?:summari[sz]e|sum up|recap|tl;?\s*dr|give me the (?:gist|summary|main points)|"
    rf"what(?:'s| is| was)\s+(?:this|it|that|the {_DOC}|this {_DOC}|that {_DOC})\s+(?:all\s+)?about|"
    rf"what(?:'s| is) the (?:gist|upshot|summary))(?:\s+(?:it|this|that|(?:the|this|that)\s+{_DOC}))?(?:\s+(?:for me|please))?\s*[.?!]*$",
    re.I,
)
_SUMMARY = [
    re.compile(
        r"^\s*(?:please\s+|can you\s+|could you\s+)?(?:summari[sz]e|sum up|recap|brief me on|outline)\s+(?P<story>.+?)\s*[.?!]*$",
        re.I,
    ),
    re.compile(
        r"^\s*(?:give me|what(?:'s| is))\s+(?:a|the)\s+(?:short\s+|quick\s+|brief\s+)?(?:summary|gist|rundown|overview|synopsis|main points?|upshot)"
        r"\s+(?:of|on|for)\s+(?P<story>.+?)\s*[.?!]*$",
        re.I,
    ),
    re.compile(
        rf"^\s*what(?:'s| is| was)\s+(?P<story>(?:the|that|this)\s+{_DOC}\s+{_ABOUT}\s+.+?)\s+(?:all\s+)?about\s*[.?!]*$",
        re.I,
    ),
    re.compile(
        rf"^\s*what\s+(?:does|did)\s+(?P<story>(?:the|that|this)\s+{_DOC}\s+{_ABOUT}\s+.+?)\s+(?:say|report|cover)\s*[.?!]*$",
        re.I,
    ),
    re.compile(r"^\s*(?:tl;?dr|gist|summary)\s*(?:of|on|:)?\s*(?P<story>.+?)\s*[.?!]*$", re.I),
    # "What's the story about X?", "What's the report on X?"
    re.compile(
        r"^\s*what(?:'s| is| was)\s+(?:the|that|this)\s+(?:news\s+)?(?:story|article|report|piece)\s+(?:about|on|regarding)\s+(?P<story>.+?)\s*[.?!]*$",
        re.I,
    ),
    # "What is the feta cheese court case about?", "What's the row over X all about?"
    re.compile(
        r"^\s*what(?:'s| is| was)\s+(?P<story>(?:the|that|this)\s+.+?)\s+(?:all\s+|really\s+)?about\s*[.?!]*$", re.I
    ),
    # "What's happening with the underground strike in Buenos Aires?"
    re.compile(r"^\s*what(?:'s| is)\s+(?:going on|happening)\s+(?:with|over|in|at)\s+(?P<story>.+?)\s*[.?!]*$", re.I),
    re.compile(r"^\s*what\s+(?:is|was)\s+(?P<story>.+?)\s+(?:story|article|report)\s+about\s*[.?!]*$", re.I),
]
_ARTICLES = [
    re.compile(
        rf"^\s*(?:which|what|any|list(?:\s+the)?|show(?:\s+me)?(?:\s+the)?|find(?:\s+the)?|are there(?:\s+any)?)\s+(?:other\s+)?{_DOCS}\s+"
        rf"(?:(?:that|which)\s+)?(?:do\s+|also\s+)?(?:mention|mentions|mentioned|talk about|talks about|cover|covers|discuss|discusses|refer to|refers to|"
        rf"feature|features|name|names|are about|were about|deal with|involve|involving|mentioning|about|on|with)\s+(?P<name>.+?)\s*[.?!]*$",
        re.I,
    ),
    re.compile(
        rf"^\s*(?:where|in which {_DOCS}|in what {_DOCS})\s+(?:is|are|was|were|does|do)\s+(?P<name>.+?)\s+(?:mentioned|named|discussed|covered)\s*[.?!]*$",
        re.I,
    ),
    re.compile(rf"^\s*how many\s+{_DOCS}\s+(?:mention|talk about|cover|discuss)\s+(?P<name>.+?)\s*[.?!]*$", re.I),
]
# "Which articles quote Arsene Wenger?", "Where has Wenger been quoted?", "In which stories is Blair quoted?"
_QUOTING = re.compile(
    rf"^\s*(?:(?:which|what|any|list(?:\s+the)?|show(?:\s+me)?(?:\s+the)?|find(?:\s+the)?)\s+(?:other\s+)?{_DOCS}\s+"
    rf"(?:(?:that|which)\s+)?(?:also\s+)?(?:quote|quotes|quoted|have quotes from|quoting)\s+"
    r"(?!(?:the\s+)?(?:figures|data|statistics|numbers|research|a report|reports|a study|studies)\b)(?P<name>.+?)"
    rf"|(?:where|in which {_DOCS}|in what {_DOCS})\s+(?:is|are|was|were|has|have)\s+(?P<name2>.+?)\s+(?:been\s+)?quoted)"
    r"\s*[.?!]*$",
    re.I,
)
_QUOTE = re.compile(
    rf"^\s*(?:and\s+)?(?:what|how)\s+(?:did|does|do|has|have|had|was|is|will)\s+(?P<speaker>.+?)\s+(?:have\s+to\s+)?{_SAY}\b"
    r"(?:\s+(?:about|of|on|regarding|when|that|in response to|in reply to|after)\s+(?P<about>.+?)|\s+(?P<clause>[^?]+?))?\s*[.?!]*$",
    re.I,
)
_QUOTE_REACTION = re.compile(
    r"^\s*what\s+(?:was|is)\s+(?P<speaker>.+?)['’]s?\s+(?:reaction|response|view|verdict|comment|take|opinion)\b(?:\s+(?:to|on|of|about)\s+(?P<about>.+?))?\s*[.?!]*$",
    re.I,
)
_WHO_SAID = re.compile(
    rf"^\s*(?:and\s+)?who\s+(?:{_SAY}|has (?:said|described|called|warned|claimed)|was quoted|is quoted)\b", re.I
)
_TOPIC = [
    re.compile(
        rf"^\s*what\s+(?:does|did|do)\s+(?:the|that|this)\s+{_DOC}\s+{_ABOUT}\s+(?P<story>.+?)\s+(?:say|report|tell us|mention)\s+(?:about|on|regarding)\s+(?P<about>.+?)\s*[.?!]*$",
        re.I,
    ),
    re.compile(  # "What does the Hendrix museum story say about Y?"
        rf"^\s*what\s+(?:does|did)\s+(?:the|that|this)\s+(?P<story>.+?)\s+{_DOC}\s+(?:say|report|tell us|mention)\s+"
        r"(?:about|on|regarding)\s+(?P<about>.+?)\s*[.?!]*$",
        re.I,
    ),
    re.compile(
        rf"^\s*what\s+(?:does|did)\s+(?:it|the {_DOC}|this {_DOC}|that {_DOC})\s+(?:say|report|tell us|mention)\s+(?:about|on|regarding)\s+(?P<about>.+?)\s*[.?!]*$",
        re.I,
    ),
    re.compile(
        r"^\s*(?:tell me|what can you tell me|what do (?:we|you) know|what is (?:said|known|reported)|what(?:'s| is) (?:there|the news))\s+(?:about|on|regarding)\s+(?P<about>.+?)\s*[.?!]*$",
        re.I,
    ),
    re.compile(
        r"^\s*what\s+(?:happened|has happened|is happening|was happening|will happen)\s+(?:to|in|at|with|on|for|after|during)\s+(?P<about>.+?)\s*[.?!]*$",
        re.I,
    ),
    re.compile(
        r"^\s*what(?:'s| is| was)\s+(?:the\s+)?(?:latest|news|update|situation|story)\s+(?:on|about|with|regarding)\s+(?P<about>.+?)\s*[.?!]*$",
        re.I,
    ),
]
_WHY = re.compile(
    r"^\s*(?:and\s+|so\s+|but\s+)?(?:(?:apart from|besides|other than|aside from)\s+[^,?]{1,40},\s*)?(?:why|how come|for what reason|what (?:caused|prompted|led to|drove|is behind|was behind|explains|made)|"
    r"what (?:is|was|were|are) the (?:reasons?|causes?|motives?|grounds?|rationale)|how (?:did|does|do|will|would|could|can|has|have|is|was|were|are)\b)",
    re.I,
)
_HOW_FACTOID = re.compile(r"^\s*how (?:many|much|long|old|far|big|large|tall|high|often|fast|soon)\b", re.I)
_YESNO = re.compile(
    r"^\s*(?:and\s+|so\s+|but\s+)?(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should|shall|may|might|must|isn't|wasn't|didn't|doesn't|hasn't|won't)\b",
    re.I,
)


@dataclass
class Intent:
    """A question's kind and the parts the answer is built from."""

    kind: str
    question: str  # the question without its story descriptor: what the reader reads
    story: str = ""  # the story the question names ("the Kyrgyz election ink"), or ""
    about: str = ""  # topic/quote: what it asks about (Y); articles: the name (X)
    speaker: str = ""  # quote: who (X)


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,;:")
    text = re.sub(r"^(?:the|that|this|a|an)\s+(?=\S)", "", text, flags=re.I) if len(text.split()) > 1 else text
    return text.strip()


_ROLE = r"(?:spokesman|spokeswoman|spokesperson|spokespeople|lawyer|lawyers|representative|official|officials|boss|chief|source)"


def speaker_name(phrase: str) -> str:
    """The speaker a question names: "Mike Hobday of the League Against Cruel Sports" → "Mike Hobday",
    "commuter Jose Lopez" → "Jose Lopez", "Wal-Mart's spokesman" → "Wal-Mart"."""
    p = _tidy(phrase)
    m = re.match(rf"^(?P<org>.+?)['’]s?\s+{_ROLE}$", p, re.I) or re.match(
        rf"^(?:a|the)?\s*(?P<org>.+?)\s+{_ROLE}$", p, re.I
    )
    if m:
        return m.group("org").strip()
    p = re.split(r"\s+(?:of|from|at|for|with)\s+(?:the\s+)?(?=[A-Z])|,\s*", p)[0]
    caps = re.search(r"(?:[A-Z][\w'’.-]*)(?:\s+[A-Z][\w'’.-]*)*\s*$", p)
    if caps and caps.start() > 0:  # "commuter Jose Lopez", "Mac Format's Ian Harris"
        tail = caps.group(0).strip()
        return tail
    return p


def split_story(question: str) -> tuple[str, str]:
    """``(question without its story descriptor, the descriptor)``; the descriptor is "" when there is none."""
    m = _STORY_LEAD.match(question) or _STORY_CLAUSE.match(question)
    if m:
        rest = m.group("rest").strip()
        return rest[:1].upper() + rest[1:], _tidy(m.group("story"))
    for pattern in (_STORY, _STORY_ADJ):
        m = pattern.search(question)
        if m and m.start() > 0:
            rest = (question[: m.start()] + question[m.end() :]).strip()
            rest = re.sub(r"\s+([?.!,])", r"\1", rest)
            if len(rest.split()) >= 2:
                return rest, _tidy(m.group("story"))
    return question, ""


def classify(question: str) -> Intent:
    """The :class:`Intent` of ``question`` (rules; see the module docstring)."""
    q = question.strip()
    if _SUMMARY_BARE.match(q):
        return Intent(SUMMARY, q)
    for pattern in _SUMMARY:
        m = pattern.match(q)
        if m:
            story = _tidy(re.sub(rf"^(?:the|that|this)\s+{_DOC}\s+{_ABOUT}\s+", "", m.group("story"), flags=re.I))
            story = re.sub(rf"\s+{_DOC}$", "", story, flags=re.I)
            if story and story.lower() not in {"it", "this", "that", "them"}:
                return Intent(SUMMARY, q, story=story)
            return Intent(SUMMARY, q)
    m = _QUOTING.match(q)
    if m:  # "Which articles quote X?": the speaker is the name looked up
        name = _tidy(m.group("name") or m.group("name2"))
        return Intent(ARTICLES, q, about=name, speaker=name)
    for pattern in _ARTICLES:
        m = pattern.match(q)
        if m:
            return Intent(ARTICLES, q, about=_tidy(m.group("name")))
    for pattern in _TOPIC[:2]:
        m = pattern.match(q)
        if m:
            return Intent(TOPIC, q, story=_tidy(m.group("story")), about=_tidy(m.group("about")))
    rest, story = split_story(q)
    m = _QUOTE.match(rest) or _QUOTE_REACTION.match(rest)
    if m and not re.search(rf"(?:^(?:it|they|you|we|i|people)$|\b{_DOC}$)", m.group("speaker"), re.I):
        return Intent(
            QUOTE,
            rest,
            story=story,
            about=_tidy(m.groupdict().get("about") or m.groupdict().get("clause") or ""),
            speaker=speaker_name(m.group("speaker")),
        )
    if _WHO_SAID.match(rest):
        return Intent(QUOTE, rest, story=story)
    for pattern in _TOPIC[2:]:
        m = pattern.match(rest)
        if m:
            return Intent(TOPIC, rest, story=story, about=_tidy(m.group("about")))
    if _WHY.match(rest) and not _HOW_FACTOID.match(rest):
        return Intent(WHY, rest, story=story)
    if _YESNO.match(rest):
        return Intent(YESNO, rest, story=story)
    return Intent(FACTOID, rest, story=story)
