# syntax=docker/dockerfile:1
#
# Dalston images, one multi-stage file. Targets:
#
#   server (default)  every role, every CPU stage (transcribe, align, diarize, PII,
#                     redact) and the web console. `dalston serve` runs it all in one
#                     process; `dalston gateway|orchestrator|worker|realtime-worker`
#                     run one role each (docker-compose.yml, deploy/k8s).
#   slim              no torch, no alignment/diarization/PII packages: the gateway,
#                     orchestrator, audio-prepare, faster-whisper, transcript-merge,
#                     audio-redact and realtime workers (about a third of the size).
#   cuda              `server` plus the CUDA 12 cuBLAS and cuDNN 9 libraries that
#                     CTranslate2 loads: faster-whisper on an NVIDIA GPU in float16.
#                     Needs the NVIDIA container toolkit on the host.
#
#   docker build -t dalston .                        # or --target slim|cuda
#   docker run -p 8000:8000 -v dalston-data:/data dalston
#
# Whisper tiny.en and base come from PyPI model packages, so every image transcribes
# with no network access; hub models download into /data/huggingface on first use.
# Base images are pinned by version; pin them by digest too in your registry mirror
# (`--build-arg PYTHON_IMAGE=python:3.11.11-slim-bookworm@sha256:...`).

# checkov:skip=CKV_DOCKER_7: the FROM lines name these ARGs, which are pinned versions
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG NODE_IMAGE=node:20.19.2-bookworm-slim

# --- the web console (web/), built once for every target ------------------------------
FROM ${NODE_IMAGE} AS console
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# --- Python virtualenvs ----------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build-base
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# pyproject.toml names README.md as the package readme: the build needs it.
COPY pyproject.toml README.md ./
COPY sdk ./sdk
COPY dalston ./dalston
# The SDK first: the CLI's client commands are built on it (not on PyPI).
RUN pip install ./sdk

FROM build-base AS build-slim
RUN pip install ".[models,base]"

# torch from its CPU index first (a bare torch pulls CUDA, GBs), then alignment,
# diarization and PII; webrtcvad-wheels replaces the webrtcvad that resemblyzer pulls
# (it imports pkg_resources, gone from new setuptools).
FROM build-base AS build-full
ARG EXTRAS=models,base,align,diarize,pii
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install ".[${EXTRAS}]" \
    && pip install --force-reinstall --no-deps webrtcvad-wheels

# CTranslate2 (faster-whisper) needs cuBLAS 12 and cuDNN 9 at run time; NVIDIA ships
# them as wheels, so no CUDA base image is needed (the driver comes from the host).
FROM build-full AS build-cuda
RUN pip install "nvidia-cublas-cu12>=12.4,<13" "nvidia-cudnn-cu12>=9.1,<10"

# --- runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime-base
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DALSTON_DATA_DIR=/data \
    DALSTON_CONSOLE_DIR=/opt/dalston/console \
    HF_HOME=/data/huggingface
RUN groupadd --system --gid 10001 dalston \
    && useradd --system --uid 10001 --gid dalston --home-dir /home/dalston \
        --create-home --shell /usr/sbin/nologin dalston \
    && mkdir -p /data \
    && chown dalston:dalston /data
COPY --from=console /web/dist /opt/dalston/console
WORKDIR /home/dalston
# SQLite database, artifacts, admin_key (0600), joined models and the hub cache.
VOLUME ["/data"]
EXPOSE 8000
# `dalston healthcheck` GETs /health on an HTTP role (gateway, serve, realtime
# worker); with --queue it checks that this host's queue consumer (a worker or the
# orchestrator) keeps its liveness key alive in Redis. Compose and Kubernetes set the
# right form per role; this default suits `serve` and `gateway` on port 8000.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["dalston", "healthcheck", "--url", "http://127.0.0.1:8000/health"]
ENTRYPOINT ["dalston"]
# The first start prints the admin API key to the log once (see `docker logs`).
# It is also saved in /data/admin_key.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime-base AS slim
COPY --from=build-slim /opt/venv /opt/venv
USER dalston

FROM runtime-base AS cuda
COPY --from=build-cuda /opt/venv /opt/venv
# Where pip put libcublas.so.12 and libcudnn*.so.9 (nvidia-* wheels).
ENV LD_LIBRARY_PATH=/opt/venv/lib/python3.11/site-packages/nvidia/cublas/lib:/opt/venv/lib/python3.11/site-packages/nvidia/cudnn/lib \
    DALSTON_DEVICE=cuda \
    DALSTON_COMPUTE_TYPE=float16 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER dalston

# The default target (last): every CPU stage and the console.
FROM runtime-base AS server
COPY --from=build-full /opt/venv /opt/venv
USER dalston
