# The Allocation API service image. It installs exactly lock/runtime.txt (every
# file hash-checked) and the wheel built from this tree, with the uv release
# pinned in lock/tools.txt and the build backend pinned in lock/build.txt:
# nothing is resolved at build time. Production runs `allocation-api serve`
# (the default command); `allocation-api dev` works too, keeping its embedded
# PostgreSQL and sandbox key under the working directory, /home/app.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY lock/ ./lock/
RUN pip install --no-cache-dir --root-user-action=ignore --no-deps --only-binary :all: \
        --require-hashes -r lock/tools.txt \
 && uv venv /opt/allocation-api --python "$(command -v python3)" \
 && uv pip sync --python /opt/allocation-api/bin/python --require-hashes lock/runtime.txt
COPY pyproject.toml README.md ./
COPY allocation_api ./allocation_api
# What /info reports (allocation_api/build_info.py), baked into the wheel:
#   docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) \
#     --build-arg GIT_BRANCH=$(git rev-parse --abbrev-ref HEAD) \
#     --build-arg BUILD_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
ARG GIT_COMMIT=unknown
ARG GIT_BRANCH=unknown
ARG BUILD_TIME=unknown
RUN printf '{"commit": "%s", "branch": "%s", "time": "%s"}\n' \
        "$GIT_COMMIT" "$GIT_BRANCH" "$BUILD_TIME" > allocation_api/_build.json
RUN uv build --wheel --build-constraints lock/build.txt --out-dir /tmp/dist \
 && uv pip install --python /opt/allocation-api/bin/python --no-deps /tmp/dist/*.whl \
 && uv pip check --python /opt/allocation-api/bin/python

# Same base image: the venv's interpreter link points into it.
FROM ${PYTHON_IMAGE}
ENV ALLOCATION_API_MODE=serve \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/allocation-api/bin:${PATH}
COPY --from=build /opt/allocation-api /opt/allocation-api
RUN useradd --system --uid 2000 --create-home --home-dir /home/app app
USER 2000
WORKDIR /home/app
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health/ping').status != 200)"
CMD ["allocation-api", "serve", "--host", "0.0.0.0", "--port", "8080"]
