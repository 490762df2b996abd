# syntax=docker/dockerfile:1
# netpol-guard: the admission webhook image used by charts/netpol-guard.
#   docker build -t netpol-guard:0.1.0 .
# The chart runs it with a read-only root filesystem, an emptyDir at /tmp (TMPDIR), the serving
# certificate at /tls and the policy ConfigMap at /etc/netpol-guard.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: wheels for the package and every dependency (no compiler ends up in the image) --
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY webhook ./webhook
RUN pip wheel --wheel-dir /wheels .

# ---- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TMPDIR=/tmp
# Install from the builder's wheels only (mounted, so they are not left in a layer), by name
# and without any extra, then drop pip and setuptools: nothing installs at run time.
# tests/installed installs the same wheel the same way and runs every command from it.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels netpol-guard \
    && pip uninstall --yes pip setuptools wheel
LABEL org.opencontainers.image.title="netpol-guard" \
      org.opencontainers.image.description="Kubernetes admission webhook keeping NetworkPolicies on least privilege" \
      org.opencontainers.image.licenses="Apache-2.0"
# Numeric, so runAsNonRoot can verify it without /etc/passwd (65532: the distroless "nonroot").
USER 65532:65532
WORKDIR /tmp
EXPOSE 8443
ENTRYPOINT ["netpol-guard", "serve"]
# The chart passes the same flags (plus --policy-configmap, --workers, --timeout, ...).
CMD ["--bind", "0.0.0.0:8443", "--cert", "/tls/tls.crt", "--key", "/tls/tls.key", \
     "--policy", "/etc/netpol-guard/policy.yaml", "--cluster-source", "kubernetes"]
