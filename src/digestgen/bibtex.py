"""BibTeX entries for papers: LaTeX-safe fields and citation keys unique across the site.

Unicode is kept as it is (not turned into TeX accent macros): biber and BibTeX 0.99d read UTF-8,
and pdflatex with `inputenc` utf8 (the default since 2018) typesets it, while a lossy conversion
would garble names such as "Dvořák" or "王". Only the characters TeX or BibTeX act on are replaced.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Iterable

from digestgen.model import Paper, Site

# Every character TeX or BibTeX would act on, as a macro whose braces are balanced: BibTeX counts
# braces without looking at backslashes, so `\{` alone would unbalance an entry.
_REPLACEMENTS = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}
_SPECIAL = re.compile(r"[\\{}%&$#_^~]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A math span a title writes, like `$\pi_0$`: kept as math when it uses only these commands and
# characters, so that it typesets as the authors meant; anything else is escaped as text.
_MATH = re.compile(r"\$([^$]{1,60})\$")
_MATH_TEXT = re.compile(r"(?:\\[A-Za-z]+|[A-Za-z0-9 _^{}+\-=,.()'|<>*/!:;\[\]])*")
_MATH_COMMANDS = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi rho "
    "sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega "
    "infty times cdot cdots ldots pm mp le leq ge geq ne neq approx sim simeq propto to rightarrow leftarrow "
    "mathbf mathcal mathrm mathit mathbb mathsf boldsymbol hat tilde bar vec prime ell partial nabla sum prod "
    "int log exp sqrt frac in subset cup cap star circ".split()
)
# Latin letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ß": "ss", "đ": "d",
                               "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i"})
_STOPWORDS = frozenset(
    "a an the of on in for to and or with by from at as is are be via towards toward into over under "
    "we our your its it this that these those do does can what how why when".split()
)


def escape(text: str) -> str:
    """Field text that TeX typesets as written; whitespace collapsed, control characters dropped."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return _SPECIAL.sub(lambda m: _REPLACEMENTS[m.group(0)], text)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _safe_math(body: str) -> bool:
    commands = re.findall(r"\\([A-Za-z]+)", body)
    return bool(_MATH_TEXT.fullmatch(body)) and _balanced(body) and all(c in _MATH_COMMANDS for c in commands)


def escape_title(title: str) -> str:
    """Like `escape`, but a simple math span (`$\\pi_0$`) stays math."""
    title = " ".join(_CONTROL.sub(" ", title).split())
    out, end = [], 0
    for match in _MATH.finditer(title):
        if _safe_math(match.group(1)):
            out += [escape(title[end : match.start()]), match.group(0)]
            end = match.end()
    out.append(escape(title[end:]))
    return "".join(out)


def _name(name: str) -> str:
    """One author for the `author` field: a name BibTeX would split or misread stays whole."""
    text = escape(name)
    if re.search(r"\band\b|,", text, re.IGNORECASE):
        return "{" + text + "}"
    return text


def _ascii_word(text: str) -> str:
    text = text.translate(_UNDECOMPOSED)
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def family_name(name: str) -> str:
    """The last word of a name, as BibTeX's "First Last" form reads it."""
    words = name.replace(",", " ").split()
    return words[-1] if words else ""


def base_key(paper: Paper) -> str:
    """First author's family name + year + first significant title word, in ASCII (without
    authors: the word and the year, so that a key never starts with a digit)."""
    family = _ascii_word(family_name(paper.authors[0])) if paper.authors else ""
    words = [_ascii_word(w) for w in re.split(r"[\s\-:/]+", paper.title)]
    significant = [w for w in words if w and w not in _STOPWORDS and not w.isdigit()]
    word = significant[0] if significant else next((w for w in words if w), "paper")
    year = str(paper.published.year) if paper.published else ""
    return f"{family}{year}{word}" if family else f"{word}{year}"


def _suffixes() -> Iterable[str]:
    yield ""
    yield from "bcdefghijklmnopqrstuvwxyz"
    number = 27
    while True:
        yield str(number)
        number += 1


def citation_keys(site: Site) -> dict[str, str]:
    """Every paper's key, unique across the site. Papers sharing a base key are ordered by when the
    site first listed them (then slug), so that adding a newer paper leaves the older keys alone."""
    groups: dict[str, list[Paper]] = {}
    for paper in site.papers.values():
        groups.setdefault(base_key(paper), []).append(paper)
    taken = set(groups)
    keys: dict[str, str] = {}
    for base in sorted(groups):
        papers = sorted(groups[base], key=lambda p: ((p.digests[0] if p.digests else p.published or dt.date.max).isoformat(), p.slug))
        suffixes = _suffixes()
        for number, paper in enumerate(papers):
            key = base
            if number:
                key = base + next(suffixes)
                while key in taken:
                    key = base + next(suffixes)
                taken.add(key)
            else:
                next(suffixes)
            keys[paper.slug] = key
    return keys


def entry(paper: Paper, key: str) -> str:
    """An entry that BibTeX and biber read and (pdf)LaTeX typesets; arXiv-style when the ID is known."""
    fields = []
    if paper.authors:
        fields.append(("author", " and ".join(_name(n) for n in paper.authors)))
    fields.append(("title", "{" + escape_title(paper.title) + "}"))
    if paper.published:
        fields.append(("year", str(paper.published.year)))
    if paper.arxiv:
        fields += [("eprint", _verbatim(paper.arxiv)), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", escape(paper.primary_category)))
    if paper.doi:
        fields.append(("doi", _verbatim(paper.doi)))
    url = paper_url(paper)
    if url:
        fields.append(("url", _verbatim(url)))
    notes = [paper.journal_ref] if paper.journal_ref else []
    if not paper.authors:
        # BibTeX styles sort by author, else by this field, and warn when both are missing.
        fields.append(("key", escape(paper.organization or paper.title)))
        notes += [paper.organization] if paper.organization else []
    if notes:
        fields.append(("note", escape("; ".join(notes))))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}"


def paper_url(paper: Paper) -> str:
    """Where the paper itself lives: its arXiv page, else its DOI; never our own page."""
    if paper.arxiv:
        return f"https://arxiv.org/abs/{paper.arxiv}"
    if paper.doi:
        return f"https://doi.org/{paper.doi}"
    return ""


def _verbatim(value: str) -> str:
    """A field biblatex reads verbatim (url, doi, eprint): written as it is, but with the
    characters that could end the field or a line percent-encoded."""
    value = "".join(value.split())
    return value.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")
