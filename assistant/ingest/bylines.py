"""Bylines and datelines at the top of an article: who wrote it and when, kept out of its passages.

Recognised lines (alone, or a byline and a date on one line joined by ``|``, ``·``, ``—`` or ``,``):

- ``By Talia Okonkwo-Reyes``, ``By Ana Ruiz and Li Wei``, ``By Lena Voss, Staff Writer``
- ``Talia Okonkwo-Reyes, Staff Writer`` (a name followed by a newsroom role)
- ``March 14, 2031``, ``Mar. 14 2031``, ``14 March 2031``, ``Wednesday, November 23``, ``2031-03-14``,
  ``2031-03-14T09:30:00Z``, ``14.03.2031``, ``Published: March 14, 2031 10:32 AM``

Dates become ISO (``2031-03-14``, or ``2031-03`` for a month) when the year is known; a date without a
year is kept as written ("Wednesday, November 23").

Example::

    from assistant.ingest.bylines import iso_date, parse_byline, split_header
    assert iso_date("March 14, 2031") == "2031-03-14"
    assert parse_byline("Lena Voss, Staff Writer") == "Lena Voss"
    author, date, cut = split_header("By Ana Ruiz\\nMarch 3, 2031\\n\\nThe base...")
    # ("Ana Ruiz", "2031-03-03", offset of "The base...")
"""

from __future__ import annotations

import re

_MONTH_NAMES = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?\.?"
_PREFIX = r"(?:(?:published|updated|posted|first published|last updated|date)(?:\s+on)?\s*:?\s*)?"
_TIME = r"(?:\s*(?:,|at|-|–)?\s*\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,5})?)?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_DATE_FORMS = [
    rf"(?:{_WEEKDAY},?\s+)?{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?",  # (Wednesday,) March 14(, 2031)
    rf"(?:{_WEEKDAY},?\s+)?{_DAY}\.?\s+{_MONTH},?(?:\s+{_YEAR})?",  # (Wed,) 14 March (2031)
    rf"{_MONTH},?\s+{_YEAR}",  # March 2031
    r"(?P<iy>\d{4})[-/](?P<im>\d{1,2})[-/](?P<id>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    r"(?P<a>\d{1,2})[./](?P<b>\d{1,2})[./](?P<ny>\d{4})",  # 14.03.2031, 03/14/2031
]
_DATE_ANY = [re.compile(rf"^\s*{_PREFIX}(?:{f}){_TIME}\s*$", re.IGNORECASE) for f in _DATE_FORMS]
_LEADING_DATE = [re.compile(rf"^\s*(?:{f})\b[\s,.|·—–-]*", re.IGNORECASE) for f in _DATE_FORMS[:2]]

_ROLES = (
    r"(?:(?:senior|chief|special|contributing|associate|managing|deputy|foreign|political|science|business"
    r"|staff|local|investigative|national|sports|health|technology|tech)\s+)*"
    r"(?:staff\s+writer|staff\s+reporter|writer|reporter|correspondent|editor|columnist|contributor"
    r"|journalist|photographer|analyst|critic|producer|bureau\s+chief|reuters|associated\s+press|ap|afp|bloomberg)"
    r"(?:\s+(?:for|at|with|of)\s+[\w .&'’-]{2,40})?"
)
_PARTICLE = r"(?:de|da|di|du|del|della|der|den|van|von|la|le|al|el|bin|ibn|ben|y|dos|das|st\.?)"
_NAME_WORD = r"(?:[^\W\d_][\w'’-]*\.?|[^\W\d_]\.)"  # a capital is checked separately
_ONE_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{0,4}}"
_NAMES = rf"{_ONE_NAME}(?:\s*(?:,|and|&)\s*{_ONE_NAME}){{0,3}}"
_SEP = r"\s*(?:\||·|•|—|–|-{1,2}|/)\s*"
_BY = re.compile(rf"^\s*by\s*:?\s+(?P<who>{_NAMES})(?:\s*,\s*(?P<role>{_ROLES}))?\s*$", re.IGNORECASE)
_NAME_ROLE = re.compile(rf"^\s*(?P<who>{_NAMES})\s*,\s*(?P<role>{_ROLES})\s*$", re.IGNORECASE)
_ROLE_TAIL = re.compile(rf"\s*,\s*{_ROLES}\s*$", re.IGNORECASE)
_LOWER_OK = re.compile(rf"^(?:{_PARTICLE}|and|&)$", re.IGNORECASE)


def _looks_like_names(who: str) -> bool:
    tokens = [t for t in re.split(r"[\s,]+", who) if t]
    if not tokens or len(tokens) > 16:
        return False
    for t in tokens:
        if _LOWER_OK.match(t):
            continue
        if t[0].islower() or not t[0].isalpha():
            return False
    return True


def parse_byline(line: str) -> str | None:
    """The author(s) named by a byline line ("By X", "By X, Staff Writer", "X, Correspondent"), or None."""
    line = line.strip()
    if not line or len(line) > 160:
        return None
    for pattern in (_BY, _NAME_ROLE):
        m = pattern.match(line)
        if m and _looks_like_names(m.group("who")):
            who = _ROLE_TAIL.sub("", m.group("who"))
            return " ".join(who.split()).rstrip(",")
    return None


def is_date_line(line: str) -> bool:
    """True when the whole line is a date (optionally "Published:", a weekday, a time)."""
    return bool(line.strip()) and len(line) <= 80 and any(p.match(line) for p in _DATE_ANY)


def iso_date(value: str) -> str:
    """``value`` as an ISO date (``2031-03-14`` or ``2031-03``) when it is a date with a known year;
    otherwise ``value`` tidied (spaces collapsed) and kept as found."""
    text = " ".join(str(value or "").split())
    if not text:
        return ""
    for pattern in _DATE_ANY:
        m = pattern.match(text)
        if not m:
            continue
        g = m.groupdict()
        if g.get("iy"):
            return _iso(int(g["iy"]), int(g["im"]), int(g["id"])) or text
        if g.get("ny"):
            a, b, year = int(g["a"]), int(g["b"]), int(g["ny"])
            if "." in text[m.start("a") : m.end("b")] or a > 12:  # 14.03.2031, 14/03/2031: day first
                return _iso(year, b, a) or text
            if b > 12:  # 03/14/2031: month first
                return _iso(year, a, b) or text
            return text  # 03/04/2031 is ambiguous: kept as written
        if g.get("month") and g.get("year"):
            month = _MONTH_NAMES[_month_key(g["month"])]
            if g.get("day"):
                return _iso(int(g["year"]), month, int(g["day"])) or text
            return f"{int(g['year']):04d}-{month:02d}"
        return text
    return text


def _month_key(name: str) -> str:
    key = name.lower().rstrip(".")
    return "sept" if key.startswith("sept") else key[:3]


def _iso(year: int, month: int, day: int) -> str | None:
    import datetime

    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


def _split_combined(line: str) -> tuple[str, str] | None:
    """A byline and a date on one line ("By X | March 14, 2031", "By X, March 14, 2031")."""
    parts = re.split(_SEP, line.strip())
    if len(parts) == 2:
        a, b = parts
        if parse_byline(a) and is_date_line(b):
            return parse_byline(a) or "", b
        if is_date_line(a) and parse_byline(b):
            return parse_byline(b) or "", a
    m = re.match(r"^(?P<by>\s*by\s.+?),\s*(?P<date>[^,]*\d.*)$", line, re.IGNORECASE)
    if m and parse_byline(m.group("by")) and is_date_line(m.group("date")):
        return parse_byline(m.group("by")) or "", m.group("date")
    return None


def split_header(text: str, known_author: str = "", max_lines: int = 4) -> tuple[str, str, int]:
    """Byline and date lines at the start of ``text``: ``(author, date, cut)``, where ``text[cut:]`` is
    the article without them (a verbatim slice). ``date`` is ISO where the year is known.

    ``known_author`` (e.g. found by the HTML extractor) is also stripped when the text starts with
    "By <known_author>" on the same line as the first sentence, as HTML extraction can leave it.
    Nothing is cut when the header lines would be all there is.
    """
    author = date = ""
    pos = cut = 0
    seen = 0
    while seen < max_lines and pos < len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        line = text[pos:end]
        nxt = end + 1
        if not line.strip():
            pos = nxt
            continue
        if not author and (who := parse_byline(line)):
            author = who
        elif not date and is_date_line(line):
            date = line.strip()
        elif not author and not date and (both := _split_combined(line)):
            author, date = both
        else:
            break
        seen += 1
        pos = cut = min(nxt, len(text))
    if cut == 0 and text.strip():  # the byline glued to the first sentence (HTML extraction)
        head = text.lstrip()
        lead = len(text) - len(head)
        if known_author:
            m = re.match(rf"by\s+{re.escape(known_author)}\b[\s,.|·—–-]*", head, re.IGNORECASE)
            if m:
                author, lead = known_author, lead + m.end()
                head = text[lead:]
        for pattern in _LEADING_DATE:
            m = pattern.match(head)
            if m and m.end() < len(head) and head[m.end() :][:1].isupper():
                date, lead = m.group(0).strip(" ,.|·—–-"), lead + m.end()
                break
        if author or date:
            cut = lead
    if cut and not text[cut:].strip():
        return "", "", 0
    return author, iso_date(date), cut
