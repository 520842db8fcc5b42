# syntax=docker/dockerfile:1.10
#
# Images of the model server; docs/deployment.md has the build and run commands.
#   cpu    python:3.11-slim + onnxruntime
#   gpu    CUDA 13 + cuDNN 9 runtime + Python 3.11 + onnxruntime-gpu (TensorRT with WITH_TENSORRT=1)
#   train  Python 3.11 + the [train] extra; runs `make models`
# The two runtime images hold a virtual environment built in a builder stage, the project wheel and
# the shipped models/ at /app/models; no TensorFlow and no build tools.

# major.minor: it also names the venv's lib/pythonX.Y directory.
ARG PYTHON_VERSION=3.11
ARG PYTHON_IMAGE=python:${PYTHON_VERSION}-slim
# onnxruntime-gpu 1.31.1, the PyPI wheel pyproject.toml pins, is built against CUDA 13.0 and cuDNN 9
# (its CUDA provider links libcudart.so.13, libcublas.so.13 and libcudnn.so.9): on a CUDA 12 base
# that provider fails to load and every session silently runs on the CPU. Host driver >= 580.
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.8

FROM ${UV_IMAGE} AS uv

# ---- bases: an interpreter and the unprivileged user, shared by each builder and its runtime ----
# The venv built in a builder links to the base's interpreter, so both must come from the same base.

FROM ${PYTHON_IMAGE} AS cpu-base
# A numeric UID, so Kubernetes can check runAsNonRoot without a passwd lookup.
RUN groupadd --system --gid 10001 serving \
    && useradd --system --no-log-init --uid 10001 --gid serving \
        --home-dir /nonexistent --shell /usr/sbin/nologin serving

FROM ${CUDA_IMAGE} AS gpu-base
ARG PYTHON_VERSION
# Ubuntu 24.04 ships Python 3.12 only. uv installs a relocatable python-build-standalone 3.11
# instead of a PPA; no apt packages are needed.
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    uv python install --install-dir /opt/python --no-bin "${PYTHON_VERSION}" \
    && groupadd --system --gid 10001 serving \
    && useradd --system --no-log-init --uid 10001 --gid serving \
        --home-dir /nonexistent --shell /usr/sbin/nologin serving

# ---- builders: /opt/venv with the pinned dependencies, /wheels with the project wheel ------------
# Dependencies come from pyproject.toml alone (through deploy/docker/requirements.py, which keeps
# the pins and picks the onnxruntime build), so a code change does not reinstall them.

FROM cpu-base AS cpu-builder
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /src
COPY pyproject.toml ./
COPY deploy/docker/requirements.py deploy/docker/
# The pyproject marker would pick onnxruntime-gpu on Linux x86_64; this image wants the CPU build.
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    python deploy/docker/requirements.py cpu > requirements.txt \
    && uv venv --python /usr/local/bin/python3 /opt/venv \
    && uv pip install --python /opt/venv/bin/python --requirement requirements.txt
COPY contract/ contract/
COPY service/ service/
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    uv build --wheel --out-dir /wheels .

FROM gpu-base AS gpu-builder
ARG PYTHON_VERSION
ARG WITH_TENSORRT=0
# ORT's TensorRT provider loads libnvinfer.so.10 and libnvonnxparser.so.10: TensorRT 10, CUDA 13
# build. PyPI holds only a download stub for these wheels; the wheels are on NVIDIA's index.
ARG TENSORRT_LIBS=tensorrt-cu13-libs==10.16.1.11
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON_INSTALL_DIR=/opt/python UV_PYTHON_PREFERENCE=only-managed
WORKDIR /src
COPY pyproject.toml ./
COPY deploy/docker/requirements.py deploy/docker/
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    uv venv --python "${PYTHON_VERSION}" /opt/venv \
    && /opt/venv/bin/python deploy/docker/requirements.py gpu > requirements.txt \
    && uv pip install --python /opt/venv/bin/python --requirement requirements.txt
# --no-deps: the CUDA runtime these wheels would pull in is already in the base image.
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    if [ "${WITH_TENSORRT}" = "1" ]; then \
        uv pip install --python /opt/venv/bin/python --no-deps \
            --index-url https://pypi.nvidia.com "${TENSORRT_LIBS}"; \
    fi
COPY contract/ contract/
COPY service/ service/
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    uv build --wheel --out-dir /wheels .

# ---- runtimes ------------------------------------------------------------------------------------
# Layers from slowest- to fastest-changing: dependencies, project wheel, models. The wheel is
# installed from a bind mount, so neither uv nor the wheel file stays in the image.

FROM cpu-base AS cpu
COPY --from=cpu-builder /opt/venv /opt/venv
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=from=cpu-builder,source=/wheels,target=/wheels \
    uv pip install --python /opt/venv/bin/python --no-deps --no-index --no-cache \
        --compile-bytecode /wheels/*.whl
COPY deploy/docker/healthcheck.py /app/healthcheck.py
COPY models/ /app/models/
# The server defaults to 127.0.0.1; in a container it must listen on every interface. Bytecode
# was compiled at install time and the root filesystem may be read-only, so none is written.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVING_HOST=0.0.0.0 \
    SERVING_PORT=8000 \
    SERVING_MODEL_REPOSITORY=/app/models
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# SIGTERM starts the drain: /readyz turns 503, in-flight requests finish, then the process exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/healthcheck.py"]
ENTRYPOINT ["python", "-m", "service"]

FROM gpu-base AS gpu
ARG PYTHON_VERSION
COPY --from=gpu-builder /opt/venv /opt/venv
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=from=gpu-builder,source=/wheels,target=/wheels \
    uv pip install --python /opt/venv/bin/python --no-deps --no-index --no-cache \
        --compile-bytecode /wheels/*.whl
COPY deploy/docker/healthcheck.py /app/healthcheck.py
COPY models/ /app/models/
# CUDA and cuDNN come from the base image. tensorrt_libs/ exists only in a WITH_TENSORRT=1 build
# (the dynamic loader skips a missing directory). SERVING_PROVIDERS is left to the deployment:
# `tensorrt,cuda,cpu` wants a WITH_TENSORRT=1 image.
ENV PATH=/opt/venv/bin:$PATH \
    LD_LIBRARY_PATH=/opt/venv/lib/python${PYTHON_VERSION}/site-packages/tensorrt_libs:$LD_LIBRARY_PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVING_HOST=0.0.0.0 \
    SERVING_PORT=8000 \
    SERVING_MODEL_REPOSITORY=/app/models
WORKDIR /app
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "/app/healthcheck.py"]
ENTRYPOINT ["python", "-m", "service"]

# ---- train: the only image with TensorFlow -------------------------------------------------------
# A toolchain image: `make models` trains and exports into /src/artifacts and /src/models. Mount the
# working tree over /src to train the checked-out code and keep the results (docs/deployment.md).

FROM cpu-base AS train
# /src belongs to the serving user: `make models` writes artifacts/ and models/ there.
# DL3008 (pin apt versions) is ignored for this one package: Debian drops superseded versions from
# its archive at each point release, so a pinned `make=` breaks the build; the base tag is the pin.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/* \
    && install --directory --owner=serving --group=serving /src
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /src
COPY pyproject.toml ./
COPY deploy/docker/requirements.py deploy/docker/
# Export checks ONNX parity on the CPU, so the CPU onnxruntime is enough here. The Makefile's
# stamps mark /opt/venv as its installed venv (make VENV=/opt/venv), newer than pyproject.toml,
# so `make` runs in it instead of creating a .venv and installing everything again.
RUN --mount=from=uv,source=/uv,target=/usr/local/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    python deploy/docker/requirements.py cpu --extra train > /tmp/requirements.txt \
    && uv venv --python /usr/local/bin/python3 /opt/venv \
    && uv pip install --python /opt/venv/bin/python --requirement /tmp/requirements.txt \
    && touch /opt/venv/.serve /opt/venv/.dev
COPY Makefile ./
COPY contract/ contract/
COPY training/ training/
COPY export/ export/
COPY service/ service/
# Any UID may run it (`docker run --user`), so caches go to a HOME every user can write.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TRAINING_DATA_DIR=/data
USER 10001:10001
# VENV: the image's environment, also when the working tree (with its own .venv) is mounted.
ENTRYPOINT ["make", "VENV=/opt/venv"]
CMD ["models"]
