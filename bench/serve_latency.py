"""Save-to-served latency of `digestgen serve`: edit a paper's title, poll its page until it shows.

Runs the real command (`python -m digestgen serve --port 0`) on a copy of the repository's own
site and reports each trial and the median. The time includes the watcher's debounce, the full
rebuild and the switch to the new build; the browser's own reload adds one page load on top.

    /work/venv/bin/python bench/serve_latency.py [--trials 5]
"""

from __future__ import annotations

import argparse
import http.client
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAPER = "active-prompt-learning-in-vision-language-models"


def copy_site(target: Path) -> Path:
    target.mkdir(parents=True)
    shutil.copy(REPO / "digestgen.yaml", target / "digestgen.yaml")
    shutil.copytree(REPO / "content", target / "content")
    return target


def wait_for_url(process: subprocess.Popen[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline and process.poll() is None:
        if select.select([process.stdout], [], [], 0.2)[0]:
            match = re.search(r"serving (http://\S+)", process.stdout.readline())
            if match:
                return match.group(1)
    raise SystemExit(f"digestgen serve did not print its URL (exit status {process.poll()})")


def page_shows(port: int, path: str, text: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        return text in connection.getresponse().read().decode("utf-8")
    finally:
        connection.close()


def one_trial(site: Path, port: int, trial: int) -> float:
    paper = site / "content" / "papers" / f"{PAPER}.md"
    marker = f"Latency trial {trial} {time.time_ns()}"
    text = re.sub(r"(?m)^title: .*$", f"title: {marker}", paper.read_text(encoding="utf-8"), count=1)
    paper.write_text(text, encoding="utf-8")
    saved = time.perf_counter()
    while not page_shows(port, f"/papers/{PAPER}/", marker):
        time.sleep(0.01)
        if time.perf_counter() - saved > 30:
            raise SystemExit("the edited page never appeared")
    return time.perf_counter() - saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    trials = parser.parse_args().trials
    with tempfile.TemporaryDirectory() as scratch:
        site = copy_site(Path(scratch) / "site")
        command = [sys.executable, "-m", "digestgen", "serve", "--site", str(site), "--port", "0"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=None, text=True)
        try:
            port = int(wait_for_url(process).rsplit(":", 1)[1].split("/")[0])
            times = []
            for trial in range(trials):
                times.append(one_trial(site, port, trial))
                print(f"trial {trial + 1}: {times[-1] * 1000:.0f} ms", flush=True)
                time.sleep(0.5)  # let the server go idle, as between a person's saves
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    print(f"median save-to-served latency over {trials} trials: {statistics.median(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
