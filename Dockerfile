# The Allocation API service image (production mode: `allocation-api serve`).
FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml README.md ./
COPY allocation_api ./allocation_api
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ARG GIT_REF=unknown
ENV ALLOCATION_API_GIT_REF=${GIT_REF} \
    ALLOCATION_API_MODE=serve \
    PYTHONUNBUFFERED=1
COPY --from=build /install /usr/local
RUN useradd --system --uid 2000 --no-create-home appuser
USER 2000
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health/ping').status != 200)"
CMD ["allocation-api", "serve", "--host", "0.0.0.0", "--port", "8080"]
