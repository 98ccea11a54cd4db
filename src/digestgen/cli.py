"""The command line: argument handling and messages only; the work lives in the stage modules."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from digestgen import __version__
from digestgen.errors import DigestgenError


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


SITE_OPTION = click.option(
    "--site",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default="the current folder",
    help="The site folder (holds digestgen.yaml).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="digestgen")
def cli() -> None:
    """Turn research-paper listings into a static website and an email newsletter."""


INSTALL_HELP = "What the deploy files pip-install: a git URL with a tag, a wheel (default: this digestgen, pinned)."


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--install", "install", metavar="SPEC", help=INSTALL_HELP)
def init(directory: Path, install: str | None) -> None:
    """Create a new site skeleton in DIRECTORY."""
    from digestgen.deploy import choose_install_spec, installed_origin
    from digestgen.scaffold import init_site

    spec, guess_warning = choose_install_spec(install, installed_origin())
    for path in init_site(directory, spec):
        click.echo(f"wrote {path}")
    if guess_warning:
        warn(guess_warning)
    click.echo(f"the deploy files install {spec}")
    click.echo(f"next: digestgen ingest LISTING.txt --site {directory}")


@cli.command()
@SITE_OPTION
def doctor(site: Path) -> None:
    """Check a site before you push: one line per problem; exit 0 when none, 1 when some."""
    from digestgen.deploy import doctor as run_doctor

    findings = run_doctor(site)
    for finding in findings:
        click.echo(finding)
    if findings:
        sys.exit(1)
    click.echo(f"no problems found in {site}")


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--date", "date", callback=_iso_date, help="The listing date, YYYY-MM-DD (wins over everything else).")
@SITE_OPTION
def ingest(files: tuple[str, ...], date: dt.date | None, site: Path) -> None:
    """Read digest listings (FILE, or - for standard input) into content/."""
    from digestgen.config import load_config
    from digestgen.ingest import ingest as run_ingest
    from digestgen.ingest import read_source, summary

    from digestgen.ingest import decode_listing

    _config, warnings = load_config(site)
    stdin_text = decode_listing(sys.stdin.buffer.read(), "<stdin>") if "-" in files else None
    sources = [read_source(name, stdin_text) for name in files]
    report = run_ingest(site, sources, date)
    for message in warnings + report.warnings:
        warn(message)
    for line in report.lines:
        click.echo(line)
    click.echo(summary(report))


@cli.command()
@SITE_OPTION
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: SITE/_site).")
@click.option("--base-url", help="Override base_url from the configuration.")
@click.option("--explain-tags", is_flag=True, help="Print why each paper got each automatic tag.")
@click.option("--force", is_flag=True, help="Make every page again instead of reusing unchanged ones.")
def build(site: Path, out: Path | None, base_url: str | None, explain_tags: bool, force: bool) -> None:
    """Render the site into _site/ (or --out)."""
    from digestgen.build import build_site
    from digestgen.deploy import subpath_warning

    result = build_site(site, out=out, base_url=base_url, warn=warn, progress=sys.stderr.isatty(), force=force or explain_tags)
    if notice := subpath_warning(result.config):
        warn(notice)
    if explain_tags:
        from digestgen.tagstage import explain, load_taxonomy

        assert result.site is not None  # a forced build always loads the site
        click.echo(explain(result.site, load_taxonomy(site, result.config)))
    click.echo(result.summary())


@cli.command()
@SITE_OPTION
def taxonomy(site: Path) -> None:
    """Print the effective taxonomy: the tagging settings and every tag with its phrases, as YAML."""
    from digestgen.config import load_config
    from digestgen.tagstage import load_taxonomy, taxonomy_text

    config, warnings = load_config(site)
    for message in warnings:
        warn(message)
    click.echo(taxonomy_text(load_taxonomy(site, config), config), nl=False)


@cli.command()
@SITE_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0 picks a free one).")
@click.option("--base-url", help="Override base_url from the configuration.")
def serve(site: Path, host: str, port: int, base_url: str | None) -> None:
    """Preview the site locally; rebuild on change and reload the browser."""
    from digestgen.serve import serve as run_serve

    run_serve(site, host=host, port=port, base_url=base_url, warn=warn)


@cli.command()
@SITE_OPTION
@click.option("--date", "date", callback=_iso_date, help="The digest of this date (default: the latest).")
@click.option("--week", help="Every digest of an ISO week, YYYY-Www.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (default: SITE/_newsletter).")
@click.option("--esp", type=click.Choice(["generic", "mailchimp", "listmonk", "kit", "buttondown"]), default="generic", show_default=True, help="The mail service the edition is for.")
@click.option("--base-url", help="Override base_url from the configuration.")
@click.option("--send", is_flag=True, help="Deliver the .eml over SMTP (default: only write files).")
def newsletter(site: Path, date: dt.date | None, week: str | None, out: Path | None, esp: str, base_url: str | None, send: bool) -> None:
    """Export a digest as an email edition (.eml, .html, .txt, .md)."""
    from digestgen.newsletter import run_newsletter

    if date and week:
        raise DigestgenError("give --date or --week, not both")
    for line in run_newsletter(site, date=date, week=week, out=out, esp=esp, base_url=base_url, send=send, warn=warn):
        click.echo(line)


def main() -> None:
    """Entry point: one plain line on stderr for every expected failure, never a traceback."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("digestgen: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"digestgen: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except DigestgenError as exc:
        click.echo(f"digestgen: error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("digestgen: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, with a way to see more
        if os.environ.get("DIGESTGEN_DEBUG"):
            raise
        click.echo(f"digestgen: internal error: {type(exc).__name__}: {exc} (set DIGESTGEN_DEBUG=1 for details)", err=True)
        sys.exit(70)
    sys.exit(code if isinstance(code, int) else 0)
