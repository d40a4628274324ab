"""The seeds' two renewals as a partner sends them: application bodies and documents.

Seed 000: a scrap-metal exporter renewing its AQSIQ licence. Seed 001: a dairy exporter
renewing its GACC registration. The PDFs carry a text layer that agrees with their
metadata, except the dairy's commercial certificate, whose text states another year of
expiry than its metadata: the mismatch the reader catches (when it runs). (The scrap renewal
is refused whatever it holds: China has banned imports of solid waste since 2021.)
"""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from PIL import Image, ImageDraw

SCRAP_EXPORTER = "Baltic Metal Recycling AB"
DAIRY_EXPORTER = "Fjord Dairy AS"
DAIRY_REGISTRATION = "CNOR04012201100001"
MISMATCHED_FILE = "commercial-certificate.pdf"  # its text and metadata disagree on its expiry


@dataclass
class SampleDocument:
    document_type: str
    filename: str
    content: bytes
    content_type: str
    metadata: dict[str, Any] = field(default_factory=dict)


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (Helvetica); new bytes on every run."""
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    text = " ".join(f"({line}) '" for line in escaped)
    content = f"BT /F1 11 Tf 16 TL 72 790 Td {text} ET".encode("cp1252")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%%PDF-1.4\n%% regwatch demo %s\n" % uuid.uuid4().hex.encode())
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def photo(index: int, fmt: str = "JPEG") -> bytes:
    """A distinct, sharp picture per index (the reader counts distinct photos, not files)."""
    rng = random.Random(f"{index}-{uuid.uuid4()}")
    image = Image.new("RGB", (256, 192), ((index * 53) % 256, 120, rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(20):
        x, y = rng.randrange(256), rng.randrange(192)
        box = (x, y, x + rng.randrange(16, 128), y + rng.randrange(16, 96))
        draw.rectangle(box, fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def pdf_document(
    document_type: str, filename: str, lines: list[str], metadata: dict[str, Any] | None = None
) -> SampleDocument:
    return SampleDocument(
        document_type, filename, text_pdf(lines), "application/pdf", metadata or {}
    )


def ccic_certificate(year: int) -> SampleDocument:
    """The CCIC certificate of ``year`` for metal."""
    lines = [
        "CCIC Europe - Certificate of pre-shipment inspection of recycled material",
        f"Shipper: {SCRAP_EXPORTER}",
        "Material: metal (copper and aluminium scrap)",
        f"Date of issue: {year}-06-01",
    ]
    metadata = {"year": year, "material": "metal", "issue_date": f"{year}-06-01"}
    return pdf_document("ccic_certificate", f"ccic-metal-{year}.pdf", lines, metadata)


def scrap_renewal_documents(today: date) -> list[SampleDocument]:
    """Seed 000, 'AQSIQ Renewals': what a scrap-metal exporter sends."""
    issued = today - timedelta(days=60)
    docs = [
        pdf_document(
            "e_system_account",
            "e-system-account.pdf",
            ["AQSIQ e-system account", f"Enterprise: {SCRAP_EXPORTER}", "User name: balticmetal"],
        )
    ]
    docs += [ccic_certificate(year) for year in range(today.year - 3, today.year)]
    for kind, title in (
        ("business_registration", "Certificate of registration of a limited company"),
        ("tax_registration", "Certificate of registration for value added tax"),
    ):
        english = [
            title,
            f"The company {SCRAP_EXPORTER} is registered with the Swedish authorities.",
            "This copy was certified by a notary public as a true copy of the original.",
            f"Date of issue: {issued.isoformat()}",
        ]
        notarized = {"notarized": True, "language": "en", "issue_date": issued.isoformat()}
        docs.append(pdf_document(kind, f"{kind}.pdf", english, notarized))
        docs.append(
            SampleDocument(
                "chinese_translation",
                f"{kind}-zh.pdf",
                text_pdf([]),  # a scan without a text layer: the reader cannot check it
                "application/pdf",
                {"language": "zh"},
            )
        )
    for i in range(1, 12):  # "more than 10 photos of the office and processing yard"
        docs.append(
            SampleDocument(
                "facility_photo", f"yard-{i:02}.jpg", photo(i), "image/jpeg", {"colour": True}
            )
        )
    docs.append(
        pdf_document(
            "floor_plan", "floor-plan.pdf", ["Floor plan", "Office, yard and sorting hall"]
        )
    )
    docs.append(
        SampleDocument(
            "certificate_copy",
            "aqsiq-certificate.png",
            photo(99, "PNG"),
            "image/png",
            {"colour": True},
        )
    )
    return docs


def dairy_renewal_documents(today: date) -> list[SampleDocument]:
    """Seed 001: renewal application form, registration number, commercial certificate (its
    metadata says it expires a year later than its text does)."""
    issued = today - timedelta(days=30)
    expires = date(today.year + 2, 6, 30)
    en = {"language": "en", "issue_date": issued.isoformat()}
    return [
        pdf_document(
            "renewal_application_form",
            "renewal-form.pdf",
            [
                "Application for the renewal of the registration of an overseas manufacturer",
                f"Manufacturer: {DAIRY_EXPORTER}",
                f"Registration number in China: {DAIRY_REGISTRATION}",
                "Product: milk powder",
            ],
            en,
        ),
        pdf_document(
            "commercial_certificate",
            MISMATCHED_FILE,
            [
                "Certificate of registration in the register of business enterprises",
                f"The enterprise {DAIRY_EXPORTER} is registered in Norway.",
                f"Date of issue: {issued.isoformat()}",
                f"Valid until: {expires.replace(year=expires.year - 1).isoformat()}",
            ],
            {**en, "expiry_date": expires.isoformat()},
        ),
        pdf_document(
            "compliance_declaration",
            "declaration.pdf",
            [
                "Declaration of continued compliance",
                f"We, {DAIRY_EXPORTER}, declare that our plant still meets the requirements",
                "under which the registration was granted, and that nothing has changed.",
            ],
            en,
        ),
    ]


def application_bodies(today: date) -> dict[str, dict[str, Any]]:
    """The two renewals, as the body of ``POST /v1/applications`` (and ``application.create``)."""
    return {
        "scrap": {
            "exporter": {
                "name": SCRAP_EXPORTER,
                "country": "SE",
                "home_registration_number": "SE556677-8899",
                "contact_emails": ["exports@balticmetal.example"],
            },
            "category": "scrap.metal",
            "kind": "renewal",
            "registration_number": "A123456789012",
            "registration_valid_until": (today + timedelta(days=240)).isoformat(),
        },
        "dairy": {
            "exporter": {
                "name": DAIRY_EXPORTER,
                "country": "NO",
                "home_registration_number": "NO987654321",
                "contact_emails": ["regulatory@fjorddairy.example"],
            },
            "category": "food.dairy",
            "product": "milk_powder",
            "kind": "renewal",
            "registration_number": DAIRY_REGISTRATION,
            "registration_valid_until": (today + timedelta(days=150)).isoformat(),
        },
    }
