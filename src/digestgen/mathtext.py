"""TeX in titles and abstracts: MathML Core for pages, readable Unicode wherever text is plain.

Inline formulas (`$…$`, `\\(…\\)`) and display ones (`$$…$$`, `\\[…\\]`) are converted by
latex2mathml; its MathML is then made fit for a strict Content-Security-Policy and for MathML Core
(no `style`, `href` or colour attributes; `mathvariant` letters become Unicode math letters) and
carries the TeX source as its `alttext`. The same MathML tree, read back, gives the Unicode form
(`\\alpha` → α, `x^2` → x², `\\mathbb{R}` → ℝ); what Unicode cannot carry (a matrix, say) keeps its
TeX between dollars. Text-mode commands (`\\textbf`, `\\emph`, `\\href`, `\\url`, `\\cite`, `\\%`)
become HTML or text. Anything malformed stays literal text, with a problem reported for the caller
to warn about; the work per text is bounded, so hostile input cannot slow a build.
"""

from __future__ import annotations

import copy
import html
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from latex2mathml.converter import convert_to_element as latex_to_element

MATHML = "http://www.w3.org/1998/Math/MathML"
MAX_FORMULA_CHARS = 1000
MAX_FORMULAS = 200  # per text; the rest stays literal
MAX_DEPTH = 20  # braces nested deeper than this are not converted
_SAFE_SCHEMES = ("http", "https", "mailto")
_TRIGGER = re.compile(r"[$\\]")
_TEXT_COMMAND = re.compile(r"\\(textbf|textit|emph|texttt|textsc|textrm|text|href|url|cite[tp]?|citeauthor)\s*(?=\{)")
_ESCAPED = {"\\%": "%", "\\&": "&", "\\_": "_", "\\#": "#", "\\$": "$", "\\{": "{", "\\}": "}"}
_ESCAPE = re.compile(r"\\[%&_#${}]")
_DROPPED_ATTRIBUTES = {"style", "href", "mathcolor", "mathbackground", "class", "id"}
_SUPERSCRIPTS = dict(zip("0123456789+-=()niTtkx", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀᵗᵏˣ"))
_SUPERSCRIPTS.update({"−": "⁻", "*": "*", "′": "′", "a": "ᵃ", "b": "ᵇ", "c": "ᶜ", "d": "ᵈ", "e": "ᵉ", "m": "ᵐ", "p": "ᵖ", "r": "ʳ", "s": "ˢ"})
_SUBSCRIPTS = dict(zip("0123456789+-=()aeijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_SUBSCRIPTS["−"] = "₋"
_FUNCTION_NAMES = set("arg deg det dim gcd hom ker lg lim liminf limsup ln log max min Pr sup inf exp sin cos tan".split())
_AFTER_NAME = "\u2063"  # marks the end of a function name until spacing is settled
_SPACED_OPERATORS = set("=+−<>≤≥≈≠∼~≃≅≡×±∓·∈∉⊂⊆∪∩→←↔⇒⇔∝≪≫∧∨↦") | {"-"}
_ACCENTS = {"^": "\u0302", "ˆ": "\u0302", "¯": "\u0304", "‾": "\u0305", "~": "\u0303", "˜": "\u0303", "→": "\u20d7", "˙": "\u0307", "¨": "\u0308"}
_VARIANT_NAMES = {
    "bold": "BOLD", "italic": "ITALIC", "bold-italic": "BOLD ITALIC", "double-struck": "DOUBLE-STRUCK",
    "script": "SCRIPT", "bold-script": "BOLD SCRIPT", "fraktur": "FRAKTUR", "bold-fraktur": "BOLD FRAKTUR",
    "sans-serif": "SANS-SERIF", "bold-sans-serif": "SANS-SERIF BOLD", "sans-serif-italic": "SANS-SERIF ITALIC",
    "monospace": "MONOSPACE",
}


@dataclass(frozen=True)
class Segment:
    kind: str  # "text", "inline", "display"
    text: str  # the text, or the formula's TeX without its delimiters
    source: str  # as written, delimiters included


def has_tex(text: str) -> bool:
    """Cheap test: only texts with a dollar or a backslash need any work."""
    return _TRIGGER.search(text) is not None


# --- finding formulas ---------------------------------------------------------------------------


def _closing_dollar(text: str, start: int) -> int:
    """Where the inline formula opened at `start` closes, or -1 (pandoc's rule: no space inside the
    dollars, no digit right after the closing one, so '$5 and $10' stays money)."""
    if start + 1 >= len(text) or text[start + 1].isspace():
        return -1
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "$":
            if text[index - 1].isspace() or (index + 1 < len(text) and text[index + 1].isdigit()):
                return -1
            return index
        index += 1
    return -1


def split_math(text: str, problems: list[str] | None = None) -> list[Segment]:
    """Text and formulas in order; an unbalanced delimiter stays text (and is reported)."""
    segments: list[Segment] = []
    plain: list[str] = []
    index, formulas = 0, 0

    def flush() -> None:
        if plain:
            segments.append(Segment("text", "".join(plain), "".join(plain)))
            plain.clear()

    while index < len(text):
        char = text[index]
        if char not in "$\\":  # plain text up to the next dollar or backslash, in one piece
            found = _TRIGGER.search(text, index)
            stop = found.start() if found else len(text)
            plain.append(text[index:stop])
            index = stop
            continue
        pair = text[index : index + 2]
        end, kind, width = -1, "", 0
        if formulas < MAX_FORMULAS:
            if pair == "$$":
                end, kind, width = text.find("$$", index + 2), "display", 2
            elif char == "$" and (index == 0 or text[index - 1] != "\\"):
                end, kind, width = _closing_dollar(text, index), "inline", 1
            elif pair == "\\(":
                end, kind, width = text.find("\\)", index + 2), "inline", 2
            elif pair == "\\[":
                end, kind, width = text.find("\\]", index + 2), "display", 2
        if kind and end > index + width - 1 and text[index + width : end].strip():
            flush()
            segments.append(Segment(kind, text[index + width : end], text[index : end + width]))
            index, formulas = end + width, formulas + 1
            continue
        looks_like_math = index + 1 < len(text) and not (text[index + 1].isspace() or text[index + 1].isdigit())
        if kind and problems is not None and char == "$" and pair != "$$" and looks_like_math and "$" not in text[index + 1 :]:
            problems.append(f"an unbalanced '$' at character {index + 1} is left as it is")
        if pair == "\\$":
            plain.append(pair)
            index += 2
            continue
        plain.append(char)
        index += 1
    flush()
    return segments


# --- one formula: TeX → MathML → tidy tree ------------------------------------------------------


def _depth(tex: str) -> int:
    depth = deepest = 0
    for char in tex:
        if char == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "}":
            depth -= 1
    return deepest


def _math_letter(char: str, variant: str) -> str:
    """A letter or digit in a MathML `mathvariant`, as the Unicode character of that style."""
    style = _VARIANT_NAMES.get(variant)
    if style is None or variant == "normal":
        return char
    try:
        name = unicodedata.name(char)
    except ValueError:
        return char
    if name.startswith("LATIN CAPITAL LETTER ") or name.startswith("LATIN SMALL LETTER "):
        case, letter = ("CAPITAL", name[-1]) if "CAPITAL" in name else ("SMALL", name[-1])
        wanted = f"MATHEMATICAL {style} {case} {letter}"
    elif name.startswith("GREEK CAPITAL LETTER ") or name.startswith("GREEK SMALL LETTER "):
        wanted = name.replace("GREEK ", f"MATHEMATICAL {style} ", 1).replace(" LETTER ", " ")
    elif name.startswith("DIGIT "):
        wanted = f"MATHEMATICAL {style} {name}"
    else:
        return char
    try:
        return unicodedata.lookup(wanted)
    except KeyError:  # a few letters live elsewhere (italic h is U+210E), or have no such style
        return {"MATHEMATICAL ITALIC SMALL H": "\u210e"}.get(wanted, char)


def _tidy(element: ET.Element, unknown: list[str]) -> None:
    """MathML Core under a strict CSP: no style/link/colour attributes, letters instead of mathvariant."""
    for name in list(element.attrib):
        if name in _DROPPED_ATTRIBUTES:
            del element.attrib[name]
    variant = element.attrib.pop("mathvariant", "normal")
    if element.text:
        if element.text.startswith("\\") and len(element.text) > 1:
            if element.text[1:] in _FUNCTION_NAMES:  # LaTeX's operator names that the converter lacks
                element.text = element.text[1:]
            else:
                unknown.append(element.text)
        if variant != "normal":
            element.text = "".join(_math_letter(c, variant) for c in element.text)
    for child in element:
        if variant != "normal" and "mathvariant" not in child.attrib:
            child.set("mathvariant", variant)
        _tidy(child, unknown)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True)
class Formula:
    tex: str
    display: bool
    tree: ET.Element | None  # None: not converted (kept as literal text)
    problem: str = ""


@lru_cache(maxsize=8192)  # a formula is converted for the page and for the text: parse it once
def parse_formula(tex: str, display: bool = False) -> Formula:
    """The tidy MathML tree of one formula, or the reason it stays literal (the tree is not to be changed)."""
    if len(tex) > MAX_FORMULA_CHARS:
        return Formula(tex, display, None, f"a formula longer than {MAX_FORMULA_CHARS} characters")
    if _depth(tex) > MAX_DEPTH:
        return Formula(tex, display, None, f"a formula nested deeper than {MAX_DEPTH} levels")
    try:
        tree = latex_to_element(tex, display="block" if display else "inline")
        for element in tree.iter():  # the converter leaves its text as character references
            if element.text and "&" in element.text:
                element.text = html.unescape(element.text)
    except Exception as exc:  # latex2mathml raises many kinds on malformed TeX; all mean "keep the text"
        return Formula(tex, display, None, f"malformed formula ({type(exc).__name__})")
    unknown: list[str] = []
    _tidy(tree, unknown)
    if unknown:
        return Formula(tex, display, None, f"unknown macro {unknown[0]}")
    return Formula(tex, display, tree)


def mathml(formula: Formula) -> str:
    """The <math> element, with the TeX as its text alternative."""
    assert formula.tree is not None
    tree = copy.copy(formula.tree)  # the cached tree stays as parsed; only the root's attributes change
    tree.set("alttext", formula.tex.strip())
    return ET.tostring(tree, encoding="unicode", short_empty_elements=False)


# --- MathML → Unicode text ----------------------------------------------------------------------


class _NoUnicode(Exception):
    """The formula has a part that plain text cannot show (a matrix): keep its TeX."""


def _script(text: str, table: dict[str, str], mark: str) -> str:
    text = text.replace(_AFTER_NAME, " ").strip().replace(" ", "") if len(text) < 12 else text.strip()
    if text and all(c in table for c in text):
        return "".join(table[c] for c in text)
    if len(text) == 1:
        return mark + text
    return f"{mark}({text})"


def _grouped(text: str) -> str:
    return text if len(text) <= 1 or text.isalnum() else f"({text})"


def _scripted(tag: str, element: ET.Element, base: str, children: list[ET.Element]) -> str:
    parts = [_unicode(c).strip() for c in children[1:]] or [""]
    if tag == "mover" and parts[0] in _ACCENTS and len(base) == 1:
        return base + _ACCENTS[parts[0]]
    if tag in ("msup", "mover"):
        return base + _script(parts[0], _SUPERSCRIPTS, "^")
    if tag in ("msub", "munder") or len(parts) < 2:
        return base + _script(parts[0], _SUBSCRIPTS, "_")
    return base + _script(parts[0], _SUBSCRIPTS, "_") + _script(parts[1], _SUPERSCRIPTS, "^")


def _named_operator(text: str) -> bool:
    return (len(text) > 1 and text.isalpha()) or text in "∑∏∫∮⋃⋂⨁⨂"


def _unicode(element: ET.Element) -> str:
    tag = _local(element.tag)
    children = list(element)
    if tag in ("mo", "mi") and (element.text or "") in _SPACED_OPERATORS:
        return f" {'∼' if element.text == '~' else element.text} "
    if (tag == "mi" and len(element.text or "") > 1) or (tag == "mo" and _named_operator(element.text or "")):
        # a function name or a big operator: log n, softmax(x), ∑ᵢ xᵢ
        return f" {element.text}{_AFTER_NAME}"
    if tag in ("mi", "mn", "mo", "mtext", "ms"):
        return (element.text or "").replace("\u00a0", " ")
    if tag == "mspace":
        return " "
    if tag in ("msup", "msub", "msubsup", "munder", "mover", "munderover") and children:
        base = _unicode(children[0])
        if base.endswith(_AFTER_NAME):  # log₂ n: the script joins the name
            return _scripted(tag, element, base[: -len(_AFTER_NAME)], children) + _AFTER_NAME
        return _scripted(tag, element, base, children)
    if tag == "mfrac" and len(children) == 2:
        return f"{_grouped(_unicode(children[0]))}/{_grouped(_unicode(children[1]))}"
    if tag == "msqrt":
        return "√" + _grouped("".join(_unicode(c) for c in children))
    if tag == "mroot" and len(children) == 2:
        return _script(_unicode(children[1]), _SUPERSCRIPTS, "^") + "√" + _grouped(_unicode(children[0]))
    if tag in ("mtable", "mtr", "mtd", "menclose", "mmultiscripts"):
        raise _NoUnicode
    return "".join(_unicode(c) for c in children)


def formula_text(formula: Formula) -> str:
    """The formula as readable Unicode, or its TeX between dollars where Unicode cannot carry it."""
    if formula.tree is None:
        return f"${formula.tex}$"
    try:
        text = _unicode(formula.tree)
    except _NoUnicode:
        return f"${formula.tex}$"
    text = re.sub(_AFTER_NAME + r"(?=\()", "", text).replace(_AFTER_NAME, " ")
    text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", text).strip())
    text = re.sub(r",(?=\S)", ", ", text)
    text = re.sub(r"(^|[(\[,=] ?)([−+±∓-]) ", r"\1\2", text)  # a sign, not an operation
    return re.sub(r"\s+([)\],;])", r"\1", re.sub(r"([(\[])\s+", r"\1", text))


# --- text-mode commands -------------------------------------------------------------------------


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """The contents of the {…} group at `start` and the index after it; None when unbalanced."""
    if start >= len(text) or text[start] != "{":
        return None
    depth = 0
    for index in range(start, min(len(text), start + 2000)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : index], index + 1
    return None


def _safe_url(url: str) -> str:
    scheme = urlsplit(url.strip()).scheme.lower()
    return url.strip() if scheme in _SAFE_SCHEMES else ""


def _commands(text: str, as_html: bool, problems: list[str]) -> str:
    """Text-mode commands as HTML (escaped text otherwise) or as plain text."""
    out: list[str] = []
    index = 0
    emit = html.escape if as_html else (lambda s: s)
    for count, match in enumerate(_TEXT_COMMAND.finditer(text)):
        if count >= MAX_FORMULAS:  # bounded work: what is left stays as it is
            break
        if match.start() < index:
            continue
        out.append(emit(_unescape(text[index : match.start()])))
        name = match.group(1)
        first = _braced(text, match.end())
        if first is None:
            problems.append(f"\\{name} without a closing brace is left as it is")
            out.append(emit(text[match.start() : match.end()]))
            index = match.end()
            continue
        argument, index = first
        if name.startswith("cite"):  # a reference list the page does not have: dropped with its space
            if out:
                out[-1] = out[-1].rstrip(" ~")
            continue
        if name == "href":
            second = _braced(text, index)
            label, index = second if second is not None else (argument, index)
            url = _safe_url(argument)
            shown = _commands(label, as_html, problems)
            if not as_html:
                out.append(f"{shown} ({url})" if url else shown)
            else:
                out.append(f'<a href="{html.escape(url)}">{shown}</a>' if url else shown)
            continue
        if name == "url":
            url = _safe_url(argument)
            out.append(
                (f'<a href="{html.escape(url)}">{html.escape(url)}</a>' if url else html.escape(argument))
                if as_html else argument
            )
            continue
        inner = _commands(argument, as_html, problems)
        tag = {"textbf": "strong", "textit": "em", "emph": "em", "texttt": "code"}.get(name)
        out.append(f"<{tag}>{inner}</{tag}>" if as_html and tag else inner)
    out.append(emit(_unescape(text[index:])))
    return "".join(out)


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPED[m.group(0)], text)


# --- whole texts ---------------------------------------------------------------------------------


def _convert(text: str, problems: list[str], as_html: bool) -> str:
    parts = []
    for segment in split_math(text, problems):
        if segment.kind == "text":
            parts.append(_commands(segment.text, as_html, problems))
            continue
        formula = parse_formula(segment.text, segment.kind == "display")
        if formula.tree is None:
            problems.append(f"{formula.problem} is left as it is: {segment.source[:60]}")
            parts.append(html.escape(segment.source) if as_html else segment.source)
        else:
            parts.append(mathml(formula) if as_html else formula_text(formula))
    return "".join(parts)


def to_html(text: str, problems: list[str] | None = None) -> str:
    """Escaped HTML of a plain text, with its formulas as MathML and text-mode commands as markup."""
    if not has_tex(text):
        return html.escape(text)
    return _convert(text, problems if problems is not None else [], as_html=True)


def to_text(text: str, problems: list[str] | None = None) -> str:
    """A plain text with its formulas as readable Unicode and text-mode commands resolved."""
    if not has_tex(text):
        return text
    return _convert(text, problems if problems is not None else [], as_html=False)


_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")


def html_with_math(rendered: str, problems: list[str] | None = None) -> str:
    """Convert the formulas in the text of rendered HTML (Markdown's output), leaving tags, links
    and code alone."""
    if not has_tex(rendered):
        return rendered
    out, skip = [], 0
    for piece in _TAG_OR_TEXT.split(rendered):
        if piece.startswith("<"):
            name = piece[1:].split(None, 1)[0].rstrip(">/").lower() if len(piece) > 2 else ""
            if name in ("a", "code", "pre"):
                skip += 1
            elif name in ("/a", "/code", "/pre"):
                skip = max(0, skip - 1)
            out.append(piece)
        elif skip or not has_tex(piece):
            out.append(piece)
        else:
            out.append(to_html(html.unescape(piece), problems))
    return "".join(out)
