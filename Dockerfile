# idocbridge as a container: the command line and the service, on Python 3.13, as a user without privileges.
#
#   docker build -t idocbridge .
#   docker run --rm idocbridge --help
#
# The image serves a generated folder mounted at /srv/idocbridge/service with settings at
# /srv/idocbridge/settings.yaml (see deploy/compose/ for a whole setup with PostgreSQL and the simulator).
# Secrets come from the environment (${SAP_PASSWORD} ...) or from files (${file:/run/secrets/...}).

FROM python:3.13-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY framework framework
COPY models models
COPY generators generators
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.13-slim
RUN useradd --system --uid 10001 --create-home --home-dir /srv/idocbridge idocbridge
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "idocbridge[postgres]" && rm -rf /wheels
USER idocbridge
WORKDIR /srv/idocbridge
ENV PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=2).status != 200)"]
ENTRYPOINT ["idocbridge"]
CMD ["serve", "/srv/idocbridge/service", "--settings", "/srv/idocbridge/settings.yaml", "--host", "0.0.0.0", "--log-format", "json"]
