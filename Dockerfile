# audio-gateway image. CPU by default; `--build-arg VARIANT=gpu` (docker-compose.gpu.yml) adds the
# CUDA 12 / cuDNN 9 libraries CTranslate2 needs and PyPI's CUDA build of torch.
# Run by docker-compose.yml (replicas behind nginx); alone: docker run -p 8000:8000 audio-gateway
ARG VARIANT=cpu

FROM python:3.11-slim-bookworm AS build
ARG VARIANT
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv .venv
# dependencies first: this layer is kept while only the source changes
COPY pyproject.toml README.md ./
RUN mkdir -p gateway models && touch gateway/__init__.py models/__init__.py \
    && if [ "$VARIANT" = gpu ]; then \
         .venv/bin/pip install torch==2.13.0 nvidia-cublas-cu12 "nvidia-cudnn-cu12==9.*"; \
       else \
         .venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu; \
       fi \
    && .venv/bin/pip install . && .venv/bin/pip uninstall -y audio-gateway
COPY gateway gateway
COPY models models
RUN .venv/bin/pip install --no-deps .

FROM python:3.11-slim-bookworm
ARG VARIANT
LABEL org.opencontainers.image.title="audio-gateway" org.opencontainers.image.description="OpenAI's Audio API on open models"
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin gateway \
    && mkdir -p /data /cache /models && chown gateway:gateway /data /cache
WORKDIR /app
COPY --from=build /app/.venv .venv
COPY configs configs
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GATEWAY_DATA_DIR=/data \
    GATEWAY_CACHE_DIR=/cache \
    GATEWAY_LOG_FORMAT=json \
    LD_LIBRARY_PATH=/app/.venv/lib/python3.11/site-packages/nvidia/cublas/lib:/app/.venv/lib/python3.11/site-packages/nvidia/cudnn/lib
USER gateway
VOLUME ["/data", "/cache"]
EXPOSE 8000
# SIGTERM drains: readiness turns 503, in-flight requests finish (server.shutdown_grace_s), then exit 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=4).status != 200)"
CMD ["audio-gateway", "serve", "--host", "0.0.0.0", "--port", "8000", "--config", "configs/default.yaml"]
