# One image for every regwatch service; the command picks the service.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# The reader's OCR: Tesseract with the English and Simplified Chinese models.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
COPY services ./services
COPY catalog ./catalog
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --uid 10001 regwatch
USER regwatch
CMD ["python", "-m", "services.intake"]
