# ccm in a container: one proxy for a team. Keys come from environment variables, the config from the
# /config volume (created from ccm's default on first start), state (request log, OAuth logins) from the
# CCM_HOME volume /data; it listens on 0.0.0.0:$CCM_PORT and logs JSON lines on stderr.
#
#   podman build -t ccm .          (docker build -t ccm . reads the identical Dockerfile)
#   another base image:            --build-arg BASE=debian:bookworm-slim   (Python is installed when missing)
#   behind a TLS-inspecting proxy: --secret id=cacert,src=/etc/ssl/certs/ca-certificates.crt (not kept)
ARG BASE=python:3.12-slim
FROM ${BASE}

# A base without Python (plain Debian) gets Debian's own; python:3.12-slim has one and skips apt.
RUN if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --create-home --uid 10001 --home-dir /home/ccm --shell /usr/sbin/nologin ccm \
    && mkdir -p /config /data \
    && chown ccm:ccm /config /data \
    && chmod 0700 /data

WORKDIR /opt/ccm
# The dependencies first: their layer is reused while only ccm's own code changes.
COPY pyproject.toml ./
RUN --mount=type=secret,id=cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi \
    && python3 -m venv /opt/venv \
    && python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['otel']))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
COPY README.md ./
COPY ccm ./ccm
COPY cli ./cli
COPY config ./config
COPY tui ./tui
COPY container/entrypoint.sh /usr/local/bin/ccm-entrypoint
RUN --mount=type=secret,id=cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps . \
    && cd / && rm -rf /opt/ccm

WORKDIR /home/ccm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CCM_HOME=/data \
    CCM_CONFIG=/config/config.toml \
    CCM_HOST=0.0.0.0 \
    CCM_PORT=13456 \
    CCM_LOG_FORMAT=json \
    PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring
USER ccm
VOLUME ["/config", "/data"]
EXPOSE 13456
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/health' % (os.environ.get('CCM_PORT') or '13456'), timeout=4)"]
ENTRYPOINT ["ccm-entrypoint"]
