"""Reader benchmark: documents read per second and CPU per page, for PDFs with a text layer,
scanned PDFs (OCR) and images (OCR), each against a baseline measured on the same files in
the same run: the raw pypdf text extraction, and the raw Tesseract call (pytesseract).

The reader's figures are its whole reading path as the service runs it: the bytes sent to
its child process (services.reader.isolated), read there (pypdf, else Tesseract) and sent
back page by page, then the facts (language, dates, numbers, the exporter's name). CPU is
the parent's, the child's and Tesseract's (from /proc: the child lives on between documents).

Then the verdict latency, with the services as processes (intake, validator, and the reader
when reading is on), on a RabbitMQ vhost and a database of their own: for an application of
three documents, published one after the other over AMQP, the time from publishing the last
document to the ``application.validated`` whose stored result covers all three and waits for
no reading (``reading`` empty: every document's facts used). Once with READER_ENABLED=false
(no reader process), once with the reader running; each application is sent after the
previous one's final verdict, so the figure is an idle system's, not a queue's.

    .venv/bin/python -m bench.reader
"""

from __future__ import annotations

import asyncio
import io
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytesseract  # noqa: E402
from PIL import Image  # noqa: E402
from pypdf import PdfReader, PdfWriter  # noqa: E402

from bench._env import percentile  # noqa: E402
from bench._verdicts import Document, verdict_latencies  # noqa: E402
from services.reader.extract import ReadLimits  # noqa: E402
from services.reader.facts import reading_facts  # noqa: E402
from services.reader.isolated import ReadingProcess  # noqa: E402
from services.reader.ocr import ocr_text  # noqa: E402
from tests.reader_files import png, scan_image, scan_pdf, text_pdf  # noqa: E402

LANGUAGES = "eng+chi_sim"  # as the service reads (READER_OCR_LANGUAGES)
LIMITS = ReadLimits(page_cap=10, time_limit=120, ocr_languages=LANGUAGES)
EXPORTER = "Nordic Scrap Metals AB"
LINES = [
    "Business Registration Certificate",
    f"Company: {EXPORTER}, Industrigatan 4, Goteborg",
    "Registration number: SE556677-8899",
    "Issued on 1 March 2024. Valid until 28 February 2029.",
    "The company is registered for the trade in recyclable ferrous and non-ferrous metals.",
]
TEXT_PAGES = 3
RUNS = {"text PDF": 20, "scanned PDF": 4, "image": 4}
# Reading does more than the raw call (a process hop, the facts); the goals bound what that
# may add: at most three times the raw extraction of a text page (the facts included), and
# a quarter more than Tesseract alone for a scan or an image.
GOALS = {"text PDF": 3.0, "scanned PDF": 1.25, "image": 1.25}
TICK = os.sysconf("SC_CLK_TCK")
# Applications of each shape, reading off and on, after one warm-up each: text PDFs are
# quick, so more of them steady the median of a latency that is only a few round trips.
VERDICT_RUNS = {"3 text PDFs": 15, "text PDF, scan, image": 4}
# With only text layers to read, the final verdict may take at most twice as long as without
# reading. With scans, the reader must OCR them first: the verdict may take what it takes
# without reading plus 1.5 times the raw reading of the application's files (raw pypdf and
# raw Tesseract, timed right after each verdict: under the same load as the services).
TEXT_VERDICT_GOAL = 2.0
OCR_VERDICT_GOAL = 1.5


def text_document() -> bytes:
    writer = PdfWriter()
    for _ in range(TEXT_PAGES):
        writer.append(PdfReader(io.BytesIO(text_pdf(LINES))))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def child_cpu(pid: int | None) -> float:
    """CPU seconds of the reading child and its reaped children (Tesseract)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / TICK


def own_cpu() -> float:
    """CPU seconds of this process and its reaped children (pytesseract's Tesseract)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class Figures:
    documents_per_second: float
    cpu_per_page: float


def measure(
    runs: int, pages: int, read: Callable[[], object], pid: Callable[[], int | None]
) -> Figures:
    read()  # warm: models loaded, caches filled
    cpu_before, child_before = own_cpu(), child_cpu(pid())
    started = time.perf_counter()
    for _ in range(runs):
        read()
    wall = time.perf_counter() - started
    cpu = own_cpu() - cpu_before + child_cpu(pid()) - child_before
    return Figures(runs / wall, cpu / (runs * pages))


def reader_path(process: ReadingProcess, data: bytes, content_type: str) -> Callable[[], object]:
    document = {
        "_id": "doc_bench",
        "application_id": "app_bench",
        "sha256": "0" * 64,
        "document_type": "business_registration",
        "filename": "bench",
    }

    def read() -> object:
        started = time.monotonic()
        extraction = process.read(data, content_type, LIMITS, ocr_images=True)
        if extraction.limits or extraction.unreadable is not None:
            raise RuntimeError(
                f"the bench's file was not read whole: {extraction.limits or extraction.unreadable}"
            )
        return reading_facts(
            extraction,
            document=document,
            exporter=EXPORTER,
            text_cap=20_000,
            read_at=datetime.now(UTC),
            seconds=time.monotonic() - started,
        )

    return read


def raw_pypdf(data: bytes) -> Callable[[], object]:
    return lambda: [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def raw_tesseract(image: Image.Image) -> Callable[[], object]:
    return lambda: pytesseract.image_to_string(image, lang=LANGUAGES)


def main() -> None:
    scan = scan_image(LINES)
    cases = {
        "text PDF": (text_document(), "application/pdf", TEXT_PAGES, raw_pypdf(text_document())),
        "scanned PDF": (scan_pdf(LINES), "application/pdf", 1, raw_tesseract(scan)),
        "image": (png(scan), "image/png", 1, raw_tesseract(scan)),
    }
    assert "Valid until" in ocr_text(scan, languages=LANGUAGES, timeout=60)  # OCR reads it
    print(f"Tesseract {pytesseract.get_tesseract_version()} ({LANGUAGES}); {os.cpu_count()} cores")
    print("baseline: raw pypdf extract_text / raw pytesseract.image_to_string on the same file")
    print("docs/s is wall time on a shared machine (noisy); the CPU ratio is the figure to judge")
    print(
        f"{'document':<12} {'pages':>5} {'runs':>4} {'reader docs/s':>13} {'baseline docs/s':>15}"
        f" {'reader CPU/page':>15} {'baseline CPU/page':>17} {'CPU ratio':>9} {'goal':>7}"
    )
    process = ReadingProcess()
    try:
        for name, (data, content_type, pages, baseline) in cases.items():
            runs = RUNS[name]
            reader = measure(
                runs, pages, reader_path(process, data, content_type), lambda: process.pid
            )
            raw = measure(runs, pages, baseline, lambda: None)
            ratio = reader.cpu_per_page / raw.cpu_per_page
            verdict = "met" if ratio <= GOALS[name] else "MISSED"
            print(
                f"{name:<12} {pages:>5} {runs:>4} {reader.documents_per_second:>13.2f}"
                f" {raw.documents_per_second:>15.2f} {reader.cpu_per_page * 1000:>12.1f} ms"
                f" {raw.cpu_per_page * 1000:>14.1f} ms {ratio:>8.2f}x {GOALS[name]:>6.2f}x"
                f" {verdict}"
            )
    finally:
        process.stop()
    verdict_report()


def verdict_report() -> None:
    """Verdict latency with reading off and on, for two shapes of application."""
    english = {"language": "en"}
    licence = {"language": "en", "expiry_date": "2029-02-28"}

    def text_document_of(kind: str, lines: list[str], meta: dict[str, str]) -> Document:
        data = text_pdf(lines)
        return Document(kind, "application/pdf", data, meta, raw_pypdf(data))

    def text_pdfs(number: int) -> list[Document]:
        return [
            text_document_of(kind, [*LINES, f"{kind} {number}"], meta)
            for kind, meta in (
                ("application_form", english),
                ("business_licence", licence),
                ("compliance_declaration", english),
            )
        ]

    def text_scan_image(number: int) -> list[Document]:
        lines = [*LINES, f"Reference {number}"]
        scan = scan_image(lines)
        return [
            text_document_of("application_form", lines, english),
            Document(
                "business_licence", "application/pdf", scan_pdf(lines), licence, raw_tesseract(scan)
            ),
            Document(
                "compliance_declaration", "image/png", png(scan), english, raw_tesseract(scan)
            ),
        ]

    shapes = {"3 text PDFs": text_pdfs, "text PDF, scan, image": text_scan_image}
    figures = asyncio.run(verdict_latencies(shapes, VERDICT_RUNS, EXPORTER))
    print()
    print(
        "verdict latency: last document published (AMQP) to the final application.validated"
        " (every document's facts used); services as processes, one application at a time"
        " after a warm-up; applications: "
        + ", ".join(f"{runs} of '{shape}'" for shape, runs in VERDICT_RUNS.items())
    )
    print(
        "raw read: raw pypdf / raw Tesseract on the application's files, one after the other,"
        " timed right after its verdict (reading on: the same load as the services)"
    )
    print(
        f"{'application':<22} {'off p50':>9} {'off p90':>9} {'on p50':>9} {'on p90':>9}"
        f" {'on/off p50':>10} {'raw read p50':>12}"
    )
    off50, on50, read50 = {}, {}, {}
    for shape in shapes:
        off = [sample.latency for sample in figures[False][shape]]
        on = [sample.latency for sample in figures[True][shape]]
        off50[shape], on50[shape] = percentile(off, 0.5), percentile(on, 0.5)
        read50[shape] = percentile([sample.raw_read for sample in figures[True][shape]], 0.5)
        print(
            f"{shape:<22} {off50[shape] * 1000:>6.0f} ms {percentile(off, 0.9) * 1000:>6.0f} ms"
            f" {on50[shape] * 1000:>6.0f} ms {percentile(on, 0.9) * 1000:>6.0f} ms"
            f" {on50[shape] / off50[shape]:>9.1f}x {read50[shape] * 1000:>9.0f} ms"
        )
    text = "3 text PDFs"
    met = on50[text] <= TEXT_VERDICT_GOAL * off50[text]
    print(
        f"goal: verdict with reading on, 3 text PDFs: p50 within {TEXT_VERDICT_GOAL:g}x of"
        f" reading off: {'met' if met else 'NOT met'} ({on50[text] / off50[text]:.1f}x)"
    )
    mixed = "text PDF, scan, image"
    bound = off50[mixed] + OCR_VERDICT_GOAL * read50[mixed]
    print(
        f"goal: verdict with reading on, text PDF + scan + image: p50 within reading off +"
        f" {OCR_VERDICT_GOAL:g}x the raw read of its files ({bound * 1000:.0f} ms):"
        f" {'met' if on50[mixed] <= bound else 'NOT met'} ({on50[mixed] * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
