# syntax=docker/dockerfile:1
# One image for every Park OS Python process. The command chooses the process:
#   docker run park-os python -m services.tenants.main
#   docker run park-os python -m services.analytics.worker
# docker-compose.yml and helm/park-os set that command per service.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------
# build: the pinned dependencies, the generated protos and byte-code, in /app.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

# The same uv as infra/setup-python.sh, so the image resolves exactly what developers get.
ARG UV_VERSION=0.13.9
ENV UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock changes,
# not on every code change. Every wheel in the lock is binary for cp311 on
# manylinux, so the slim image needs no compiler.
COPY requirements.lock ./
RUN uv venv --python /usr/local/bin/python3.11 /app/.venv \
 && uv pip install --python /app/.venv/bin/python --compile-bytecode -r requirements.lock

# The code: .dockerignore lets in only what a running service needs (see there).
COPY . .

# `make protos`: the very script developers run, which expects .venv at the repository
# root, hence the venv at /app/.venv. Generated code is git-ignored, so it is produced
# here from protos/ and never comes from the build context.
RUN bash infra/generate-protos.sh

# The workspace libraries (libs/*, tools/* when it exists) are installed like
# infra/setup-python.sh does: editable, without dependencies (the lock has them).
# Editable keeps the generated files under libs/park-protos importable as they are,
# since they are git-ignored and a wheel build would drop them.
RUN set -eu; \
    members=""; \
    for member in libs/* tools/*; do \
      if [ -f "$member/pyproject.toml" ]; then members="$members -e $member"; fi; \
    done; \
    uv pip install --python /app/.venv/bin/python --no-deps $members

# The runtime file system is read-only (helm sets readOnlyRootFilesystem), so byte-code
# is compiled now rather than at each start.
RUN /app/.venv/bin/python -m compileall -q libs services $( [ -d tools ] && echo tools )

# ---------------------------------------------------------------------------
# runtime: the same Python, /app copied over, a non-root user.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only check a numeric user, and
# docker-compose.yml's key-init service hands the keys to this uid.
RUN groupadd --system --gid 10001 parkos \
 && useradd --system --uid 10001 --gid parkos --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin parkos

COPY --from=build /app /app
WORKDIR /app

# services/ are run from the repository root (`python -m services.<name>.main`), so /app
# is on sys.path through the working directory; the venv's python comes first on PATH.
ENV PATH=/app/.venv/bin:${PATH} \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PARKOS_ENVIRONMENT=production \
    PARKOS_GRPC_HOST=0.0.0.0 \
    PARKOS_METRICS_HOST=0.0.0.0

USER 10001:10001

# No default service: running the image without a command says how to choose one.
CMD ["python", "-c", "import sys; sys.exit('choose a process, e.g.: python -m services.tenants.main')"]
