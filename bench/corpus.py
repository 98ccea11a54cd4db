"""Generate a synthetic corpus of N papers as daily listings, from the seed listing's vocabulary.

    python bench/corpus.py 10000 /tmp/corpus-10k     # writes /tmp/corpus-10k/listings/YYYY-MM-DD.txt
    python bench/corpus.py 10000 /tmp/json-10k --json  # the same papers as Hugging Face daily_papers JSON

Titles and abstracts are recombined from the seed's own titles and sentences, so tagging, search
and rendering see realistic text; dates, upvotes and author counts vary; 40 papers a day.

The text listings give only author counts; `name_authors(site)` then gives every ingested paper
that many names, as richer sources do, so that author pages are built (Lotka's law: most people
write one paper, a few write many).

    python bench/corpus.py 10000 /tmp/corpus-10k --names SITE   # also name the authors of SITE
"""

from __future__ import annotations

import datetime as dt
import json
import random
import textwrap
import re
import sys
from pathlib import Path

from digestgen.parse import MONTHS, parse_digest

SEED = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seed-digest.txt"
PER_DAY = 40
FIRST_DAY = dt.date(2024, 1, 1)


def seed_material() -> tuple[list[str], list[str], list[str]]:
    """Title halves and abstract sentences of the seed."""
    papers = parse_digest(SEED.read_text(encoding="utf-8")).papers
    heads, tails, sentences = [], [], []
    for paper in papers:
        head, _, tail = paper.title.partition(": ")
        heads.append(head if tail else paper.title.split(" ")[0])
        tails.append(tail or paper.title)
        sentences += [s for s in re.split(r"(?<=\.)\s+", paper.abstract) if len(s) > 30]
    return heads, tails, sentences


def paper_text(rng: random.Random, number: int, material: tuple[list[str], list[str], list[str]]) -> tuple[str, str]:
    heads, tails, sentences = material
    title = f"{rng.choice(heads)}-{number}: {rng.choice(tails)}"
    abstract = " ".join(rng.sample(sentences, rng.randint(5, 9)))
    if rng.random() < 0.3:
        abstract += f" Code is available at https://github.com/lab{number % 97}/project-{number}."
    return title, abstract


def date_line(rng: random.Random, day: dt.date) -> str:
    published = day - dt.timedelta(days=rng.randint(0, 900))
    text = f"{MONTHS[published.month - 1]} {published.day}"
    if published.year != day.year:
        text += f", {published.year}"
    upvotes = rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 13, 40])
    return f"{text} {upvotes}" if upvotes else text


def listing(rng: random.Random, day: dt.date, numbers: range, material) -> str:
    out = ["Daily Papers", "", f"{MONTHS[day.month - 1]} {day.day}, {day.year}", ""]
    for number in numbers:
        title, abstract = paper_text(rng, number, material)
        out += [title, "", abstract, "", f"  • {rng.randint(1, 30)} authors", "·", date_line(rng, day), ""]
    return "\n".join(out)


def write_corpus(count: int, folder: Path, seed: int = 7) -> list[Path]:
    """Write ceil(count / 40) listings named by their date; return their paths."""
    return _write_days(count, folder, seed, ".txt", listing)


def write_json_corpus(count: int, folder: Path, seed: int = 7) -> list[Path]:
    """The same papers as `write_corpus` (same seed, same draws), one /api/daily_papers answer a day."""

    def answer(rng: random.Random, day: dt.date, numbers: range, material) -> str:
        return json.dumps([_json_item(rng, day, number, material) for number in numbers], indent=1)

    return _write_days(count, folder, seed, ".json", answer)


def _write_days(count: int, folder: Path, seed: int, suffix: str, render) -> list[Path]:
    rng = random.Random(seed)
    material = seed_material()
    target = folder / "listings"
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, start in enumerate(range(0, count, PER_DAY)):
        day = FIRST_DAY + dt.timedelta(days=index)
        path = target / f"{day.isoformat()}{suffix}"
        path.write_text(render(rng, day, range(start, min(start + PER_DAY, count)), material), encoding="utf-8")
        paths.append(path)
    return paths


def _json_item(rng: random.Random, day: dt.date, number: int, material) -> dict:
    # The shared generator is drawn from in the text listing's order, so both corpora hold the same papers.
    title, abstract = paper_text(rng, number, material)
    author_count = rng.randint(1, 30)
    published = day - dt.timedelta(days=rng.randint(0, 900))
    upvotes = rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 13, 40])
    extra = random.Random(number)  # what the text listing does not show
    # Hard-wrapped like Hugging Face's summaries, so the unwrapping is measured too.
    wrapped = "\n".join(textwrap.wrap(abstract, 80))
    authors = [{"_id": f"u{number}-{i}", "name": f"Author {number}-{i}", "hidden": False} for i in range(author_count)]
    paper = {
        "id": f"{2400 + index_month(day):04d}.{number:05d}",
        "title": title,
        "summary": wrapped,
        "authors": authors,
        "publishedAt": f"{published.isoformat()}T12:00:00.000Z",
        "upvotes": upvotes,
        "ai_keywords": extra.sample(["attention", "diffusion", "agents", "retrieval", "benchmark", "robotics"], 2),
    }
    return {"paper": paper, "publishedAt": f"{day.isoformat()}T13:00:00.000Z", "numComments": extra.randint(0, 9)}


def index_month(day: dt.date) -> int:
    return (day.year - 2024) * 100 + day.month


_FIRST = ("Ada Alan Bo Chen Dana Elif Femi Grace Hiro Ines Jun Kofi Lena Mei Nadia Omar Priya Quinn Rosa Sven "
          "Tariq Uma Vera Wei Xia Yusuf Zoë José Søren Ángel Ana Ben Carla Dmitri Eva Farah Gil Hana Ivan Jia").split()
_LAST = ("Lovelace Turing Li Zhang Wang Müller Okafor Hopper Tanaka García Kim Ngata Novak Rossi Silva Park Singh Ahmed "
         "Nguyen Petrović Kowalski Dubois Jensen Ågård Cohen Haddad Mensah Sato Ivanova Costa Brown Schmidt Yilmaz Gupta "
         "Chen Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo Gao").split()


def _person(number: int) -> str:
    first, rest = _FIRST[number % len(_FIRST)], number // len(_FIRST)
    last = _LAST[rest % len(_LAST)]
    return f"{first} {last}" + (f" {rest // len(_LAST)}" if rest >= len(_LAST) else "")


def _count(data: dict) -> int:
    """How many authors a text listing gave (`author_count`, or an older file's integer `authors`)."""
    for key in ("author_count", "authors"):
        if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
            return data[key]
    return 3


def name_authors(site: Path, seed: int = 11) -> int:
    """Replace each ingested paper's author count by that many names; return the number of papers named.

    How many papers each person wrote follows Lotka's law, as bibliometrics finds it: the number of
    people with n papers falls as 1/n² (about 60% write one, 15% two), up to 200 papers.
    """
    import yaml

    from digestgen.frontmatter import read_front_matter

    rng = random.Random(seed)
    paths = sorted((site / "content" / "papers").glob("*.md"))
    found = [read_front_matter(path.read_text(encoding="utf-8")) for path in paths]
    counts = [_count(data) for data, _ in found]
    sizes, weights = range(1, 201), [1 / n**2 for n in range(1, 201)]
    slots: list[int] = []
    while len(slots) < sum(counts):
        person = slots[-1] + 1 if slots else 0
        slots += [person] * rng.choices(sizes, weights)[0]
    rng.shuffle(slots)
    start = 0
    for path, (data, body), count in zip(paths, found, counts):
        data["authors"] = list(dict.fromkeys(_person(p) for p in slots[start : start + count]))
        data.pop("author_count", None)
        start += count
        text = "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n" + body
        path.write_text(text, encoding="utf-8")
    return len(paths)


if __name__ == "__main__":
    if "--json" in sys.argv:
        written = write_json_corpus(int(sys.argv[1]), Path(sys.argv[2]))
    else:
        written = write_corpus(int(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {len(written)} listings into {sys.argv[2]}/listings")
    if len(sys.argv) > 4 and sys.argv[3] == "--names":
        print(f"named the authors of {name_authors(Path(sys.argv[4]))} papers")
