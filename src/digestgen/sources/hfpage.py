"""A saved huggingface.co/papers page: the list is HTML-escaped JSON in the DailyPapers element's data-props."""

from __future__ import annotations

from html.parser import HTMLParser

from digestgen.parse import Diagnostic, Listing
from digestgen.sources.hfjson import parse_hf_json


class _PropsFinder(HTMLParser):
    """Keeps the data-props of the first element whose data-target is DailyPapers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.props: str | None = None
        self.line = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.props is not None:
            return
        values = dict(attrs)
        if values.get("data-target") == "DailyPapers" and values.get("data-props") is not None:
            self.props = values["data-props"]
            self.line = self.getpos()[0]


def parse_hf_page(text: str) -> Listing:
    finder = _PropsFinder()
    try:
        finder.feed(text)
        finder.close()
    except Exception as exc:  # html.parser is lenient; a failure here is a broken page, not a bug to show
        return Listing(None, (), (Diagnostic(1, f"cannot read this HTML page ({exc})"),))
    if finder.props is None:
        return Listing(None, (), (Diagnostic(1, "no element with data-target=\"DailyPapers\" and data-props in this page"),))
    listing = parse_hf_json(finder.props, html=True)
    # Lines inside the attribute mean nothing to the reader: point at the element instead.
    diagnostics = tuple(Diagnostic(finder.line, d.message) for d in listing.diagnostics)
    return Listing(None, listing.papers, diagnostics)
