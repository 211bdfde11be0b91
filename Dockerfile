# One image for every markwatch service (migrations, workers, beat, web, test marketplaces).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Debian's chromium renders marketplaces whose profile says render = "browser"; Tesseract reads
# text in listing photos; the fonts draw the test marketplaces' photos; notices print to PDF with
# WeasyPrint (Pango) in Debian's Noto CJK fonts, Chinese included
RUN apt-get update && apt-get install -y --no-install-recommends chromium tesseract-ocr \
        tesseract-ocr-eng tesseract-ocr-chi-sim fonts-dejavu-core fonts-wqy-zenhei fonts-noto-cjk \
        libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md requirements.lock ./
COPY markwatch markwatch
COPY crawler crawler
COPY matcher matcher
COPY tasks tasks
COPY db db
COPY fixtures fixtures
COPY web web
COPY storage storage
RUN pip install --no-cache-dir -r requirements.lock && pip install --no-cache-dir --no-deps . \
    && useradd --create-home --uid 10001 markwatch \
    && mkdir -p /data && chown markwatch /data
USER markwatch
ENV MARKWATCH_DATA_DIR=/data
