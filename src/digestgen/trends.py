"""The numbers of the /trends/ page, and the shapes of its charts, as plain data for templates.

Time runs by digests: a paper counts in the week (Monday to Sunday) of the first digest that
listed it; "this week" is the latest digest's, compared with the week before. Calendar weeks,
not the seven days before the latest digest, so that a tag's trend line changes only when the
tag gains papers or a new week begins (a new digest does not re-render every tag page). Charts are drawn by templates/_charts.html as inline SVG from the geometry made here; every
coordinate is formatted here, so the bytes are the same on every machine.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Iterable

from digestgen import urls
from digestgen.model import Site
from digestgen.urls import Urls
from digestgen.views import human_date

TREND_PERIODS = 12  # points of a tag's trend line
MOVERS = 10  # tags shown rising, and falling
TOP = 10  # organizations, authors, papers
DIGESTS_DRAWN = 60  # the latest digests in the papers-per-digest chart
UPVOTE_BUCKETS = ((0, 0), (1, 4), (5, 9), (10, 24), (25, 49), (50, 99), (100, None))

CHART_WIDTH = 600
BAR_ROW = 22  # height of one horizontal bar's row
LABEL_WIDTH = 250  # room for the labels left of horizontal bars
LABEL_CHARS = 36  # longer labels are shortened there (the bar's title has the whole)
COLUMN_HEIGHT = 160
SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def _n(value: float) -> str:
    """A coordinate: one decimal at most, no trailing zero, never '-0'."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- The numbers ----------------------------------------------------------------------------------


def first_seen(site: Site) -> dict[str, dt.date]:
    """The date of the first digest that listed each paper."""
    seen: dict[str, dt.date] = {}
    for digest in site.digests:  # oldest first
        for slug in digest.slugs:
            seen.setdefault(slug, digest.date)
    return seen


def monday(date: dt.date) -> dt.date:
    return date - dt.timedelta(days=date.weekday())


def period_of(date: dt.date, end: dt.date) -> int:
    """0 for the week of `end`, 1 for the week before, …"""
    return (monday(end) - monday(date)).days // 7


def tag_counts_by_period(site: Site, end: dt.date, periods: int) -> dict[str, list[int]]:
    """Papers a tag gained in each of the `periods` periods up to `end`, oldest first."""
    counts: dict[str, list[int]] = {t.slug: [0] * periods for t in site.tags}
    for slug, date in first_seen(site).items():
        back = period_of(date, end)
        if 0 <= back < periods:
            for tag in site.papers[slug].tags:
                if tag in counts:
                    counts[tag][periods - 1 - back] += 1
    return counts


def tag_moves(site: Site, end: dt.date | None = None) -> list[dict[str, Any]]:
    """Every tag's papers this period and the previous one, most risen first."""
    end = end or (site.latest.date if site.latest else None)
    if end is None:
        return []
    counts = tag_counts_by_period(site, end, TREND_PERIODS)
    moves = []
    for tag in site.tags:
        series = counts[tag.slug]
        now, before = series[-1], series[-2]
        moves.append({"slug": tag.slug, "label": tag.label, "now": now, "before": before, "change": now - before, "series": series})
    return sorted(moves, key=lambda m: (-m["change"], -m["now"], m["slug"]))


def rising_line(site: Site, end: dt.date | None = None, limit: int = 3) -> str:
    """'Rising this week: Agents (+4), Diffusion (+2)', or '' when no tag rose."""
    if end is None and site.latest is None:
        return ""
    last = end or site.latest.date
    if not any(d.date < last - dt.timedelta(days=last.weekday()) for d in site.digests):
        return ""  # no earlier week to rise from: on a new site every tag would be "rising"
    rising = [m for m in tag_moves(site, end) if m["change"] > 0][:limit]
    if not rising:
        return ""
    return "Rising this week: " + ", ".join(f"{m['label']} (+{m['change']})" for m in rising)


def tag_trends(site: Site) -> dict[str, dict[str, Any] | None]:
    """Every tag's trend line (papers a period over the last TREND_PERIODS), or None without digests;
    the papers are counted once for all the tags."""
    if site.latest is None:
        return {tag.slug: None for tag in site.tags}
    counts = tag_counts_by_period(site, site.latest.date, TREND_PERIODS)
    return {
        tag.slug: sparkline(counts.get(tag.slug, [0] * TREND_PERIODS), f"Papers tagged {site.tag_label(tag.slug)}, week by week",
                            site.latest.date)
        for tag in site.tags
    }


def top_counts(values: Iterable[str], limit: int = TOP) -> list[dict[str, Any]]:
    counted = Counter(v for v in values if v)
    return [{"name": name, "count": count} for name, count in sorted(counted.items(), key=lambda c: (-c[1], c[0]))[:limit]]


def upvote_buckets(site: Site) -> list[dict[str, Any]]:
    buckets = []
    for low, high in UPVOTE_BUCKETS:
        count = sum(1 for p in site.papers.values() if p.upvotes >= low and (high is None or p.upvotes <= high))
        label = str(low) if low == high else f"{low}+" if high is None else f"{low}–{high}"
        buckets.append({"label": label, "value": count})
    return buckets


def top_papers(site: Site, links: Urls, limit: int = TOP) -> list[dict[str, Any]]:
    ranked = sorted((p for p in site.papers.values() if p.upvotes > 0), key=lambda p: (-p.upvotes, p.slug))[:limit]
    return [{"title": p.plain_title, "url": links.path(urls.paper(p.slug)), "upvotes": p.upvotes} for p in ranked]


# --- The charts' geometry -------------------------------------------------------------------------


def columns(items: list[dict[str, Any]], title: str, desc: str) -> dict[str, Any]:
    """Vertical bars, one per item ({label, value, url?}), sharing one scale; labels under the first and last."""
    count = max(1, len(items))
    top = max([i["value"] for i in items] + [1])
    slot = (CHART_WIDTH - 40) / count
    bars = []
    for index, item in enumerate(items):
        height = item["value"] / top * COLUMN_HEIGHT
        bars.append({"url": "", **item, "x": _n(30 + index * slot + slot * 0.1), "y": _n(10 + COLUMN_HEIGHT - height),
                     "width": _n(max(slot * 0.8, 1)), "height": _n(height), "center": _n(30 + index * slot + slot / 2)})
    return {"kind": "columns", "title": title, "desc": desc, "bars": bars, "width": CHART_WIDTH,
            "height": COLUMN_HEIGHT + 40, "max": top, "base": _n(10 + COLUMN_HEIGHT), "label_y": _n(COLUMN_HEIGHT + 28),
            "top_y": "14"}


def diverging_bars(moves: list[dict[str, Any]], title: str, desc: str) -> dict[str, Any]:
    """Horizontal bars of each tag's change, right for a rise and left for a fall, each a link."""
    largest = max([abs(m["change"]) for m in moves] + [1])
    both = any(m["change"] < 0 for m in moves) and any(m["change"] > 0 for m in moves)
    half = (CHART_WIDTH - LABEL_WIDTH - 50) / (2 if both else 1)
    middle = LABEL_WIDTH + (half if both or not any(m["change"] > 0 for m in moves) else 0)
    bars = []
    for index, move in enumerate(moves):
        length = abs(move["change"]) / largest * half
        x = middle if move["change"] >= 0 else middle - length
        short = move["label"] if len(move["label"]) <= LABEL_CHARS else move["label"][: LABEL_CHARS - 1].rstrip() + "…"
        bars.append({**move, "short": short, "x": _n(x), "y": _n(index * BAR_ROW + 4), "width": _n(max(length, 1)), "height": _n(BAR_ROW - 8),
                     "text_y": _n(index * BAR_ROW + BAR_ROW / 2 + 4), "kind": "rise" if move["change"] > 0 else "fall" if move["change"] < 0 else "flat",
                     "value_x": _n(middle + length + 4 if move["change"] >= 0 else middle - length - 4)})
    return {"kind": "bars", "title": title, "desc": desc, "bars": bars, "width": CHART_WIDTH,
            "height": max(1, len(moves)) * BAR_ROW + 4, "middle": _n(middle), "label_x": _n(LABEL_WIDTH - 6)}


def sparkline(series: list[int], title: str, end: dt.date) -> dict[str, Any]:
    """A small line of a series (oldest first), with its numbers said in words."""
    top = max(series + [1])
    step = (SPARK_WIDTH - 4) / max(1, len(series) - 1)
    points = " ".join(f"{_n(2 + i * step)},{_n(SPARK_HEIGHT - 3 - v / top * (SPARK_HEIGHT - 6))}" for i, v in enumerate(series))
    last = series[-1] if series else 0
    desc = f"{len(series)} weeks to the week of {human_date(monday(end))}, oldest first: {', '.join(map(str, series))}"
    return {"title": title, "desc": desc, "points": points, "width": SPARK_WIDTH, "height": SPARK_HEIGHT,
            "last_x": _n(SPARK_WIDTH - 2), "last_y": _n(SPARK_HEIGHT - 3 - last / top * (SPARK_HEIGHT - 6)), "series": series}


# --- The page -------------------------------------------------------------------------------------


def trends_page(site: Site, links: Urls) -> dict[str, Any]:
    """Everything /trends/ shows."""
    latest = site.latest
    digests = [{"label": human_date(d.date), "date": d.date.isoformat(), "value": len(d.slugs), "url": links.path(urls.digest(d.date))}
               for d in site.digests[-DIGESTS_DRAWN:]]
    moves = [{**m, "url": links.path(urls.tag(m["slug"]))} for m in tag_moves(site)]
    rising = [m for m in moves if m["change"] > 0][:MOVERS]
    falling = sorted((m for m in moves if m["change"] < 0), key=lambda m: (m["change"], m["slug"]))[:MOVERS]
    movers = rising + falling
    for move in moves:
        move["trend"] = sparkline(move["series"], f"Papers tagged {move['label']}, week by week", latest.date) if latest else None
    buckets = upvote_buckets(site)
    period = ""
    if latest is not None:
        start = monday(latest.date)
        period = f"{human_date(start)} to {human_date(start + dt.timedelta(days=6))}"
    return {
        "period": period,
        "papers": len(site.papers),
        "digests": digests,
        "digest_chart": columns(digests, "Papers per digest", f"The papers of the latest {len(digests)} digests, oldest first; the table below lists them.") if digests else None,
        "movers": movers,
        "mover_chart": diverging_bars(movers, "Tags rising and falling", f"Change in papers per tag, the week of {period} against the week before; the table below lists every tag.") if movers else None,
        "tags": sorted(moves, key=lambda m: (-m["now"], -sum(m["series"]), m["slug"])),
        "organizations": top_counts(p.organization or "" for p in site.papers.values()),
        "authors": top_counts(name for p in site.papers.values() for name in p.authors),
        "upvotes": buckets,
        "upvote_chart": columns(buckets, "Papers by upvotes", "How many papers have how many upvotes; the table below lists the counts."),
        "top_papers": top_papers(site, links),
    }
