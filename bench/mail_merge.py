"""Mail merge: naive per-letter WeasyPrint vs letters.render_batch, same letters, same run.

    .venv/bin/python bench/mail_merge.py --letters 2000

Last line: mail_merge: letters=<N> naive_per_s=<a> batch_per_s=<b> speedup=<b/a> peak_rss_mb=<m>
peak_rss_mb is the batch phase's peak resident memory summed over this process and its
workers (sampled from /proc). The batch phase runs first, so the naive phase's memory growth
does not count against it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weasyprint import HTML  # noqa: E402  (the naive baseline renders the plain way)

from bench._common import PeakTreeRss  # noqa: E402
from bench._common import common_context  # noqa: E402
from bench._common import recipients  # noqa: E402
from incident_app import letters  # noqa: E402

TEMPLATE = "individual_adult.html"


def cpu_seconds() -> float:
    """CPU time of this process plus its finished children: a load-independent yardstick
    (the machine is shared; wall-clock rates move with everyone else's load)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def batch(count: int, workers: int) -> tuple[float, int, str]:
    digest = hashlib.sha256()
    with PeakTreeRss() as memory:
        started = time.perf_counter()
        for letter_id, pdf in letters.render_batch(
            TEMPLATE, common_context(), recipients(count), workers=workers
        ):
            digest.update(letter_id.encode() + pdf[:64])
        elapsed = time.perf_counter() - started
    return count / elapsed, memory.peak_kb // 1024, digest.hexdigest()[:12]


def naive(count: int) -> float:
    base_url = letters.TEMPLATE_DIR.as_uri() + "/"
    started = time.perf_counter()
    for recipient in recipients(count):
        html = letters.render_html(TEMPLATE, {**common_context(), "recipient": recipient})
        HTML(string=html, base_url=base_url, url_fetcher=letters.TemplateFilesOnly()).write_pdf()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    print(f"harfbuzz subset: {letters.harfbuzz_subset_available()}, workers: {args.workers}")

    cpu = cpu_seconds()
    batch_rate, peak_mb, digest = batch(args.letters, args.workers)
    batch_cpu_ms, cpu = (cpu_seconds() - cpu) * 1000 / args.letters, cpu_seconds()
    print(
        f"batch: {batch_rate:.1f} letters/s, {batch_cpu_ms:.1f} CPU ms/letter, "
        f"peak tree RSS {peak_mb} MB ({digest})"
    )
    naive_rate = naive(args.letters)
    naive_cpu_ms = (cpu_seconds() - cpu) * 1000 / args.letters
    print(
        f"naive: {naive_rate:.1f} letters/s, {naive_cpu_ms:.1f} CPU ms/letter "
        f"(CPU ratio {naive_cpu_ms / batch_cpu_ms:.1f}), load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"mail_merge: letters={args.letters} naive_per_s={naive_rate:.2f} "
        f"batch_per_s={batch_rate:.2f} speedup={batch_rate / naive_rate:.2f} "
        f"peak_rss_mb={peak_mb}"
    )


if __name__ == "__main__":
    main()
