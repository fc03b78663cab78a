# One image for every drsyncer component; the command picks it:
#   docker run IMAGE watcher | beat | worker | flower | probe worker | sim ... | status ...
# Settings come from DRSYNCER_* environment variables (docs/configuration.md).
#
# Cloud credential plugins for kubeconfig Secrets with exec users (docs/cloud.md) are left out
# unless a build argument asks for them:
#   --build-arg AWS_CLI_VERSION=2.22.35          aws (EKS: aws eks get-token)
#   --build-arg GKE_GCLOUD_AUTH_PLUGIN=true      gke-gcloud-auth-plugin (GKE)
#   --build-arg KUBELOGIN_VERSION=0.2.10          kubelogin (AKS)
# They land in /opt/plugins/bin, which is on PATH; drsyncer runs them only when the chart value
# execPlugins.allowed (DRSYNCER_EXEC_PLUGINS) names them.
#
# drsyncer's own Python plugins (docs/plugins.md: spec.plugins of a Replication) are pip requirement
# specifiers in one build argument, installed beside drsyncer:
#   --build-arg PYTHON_PLUGINS="my-drsyncer-plugin==1.2.0"
FROM python:3.11-slim AS plugins
ARG AWS_CLI_VERSION=""
ARG GKE_GCLOUD_AUTH_PLUGIN="false"
ARG KUBELOGIN_VERSION=""
ARG TARGETARCH=amd64
RUN set -eu; mkdir -p /opt/plugins/bin; \
    if [ -z "$AWS_CLI_VERSION$KUBELOGIN_VERSION" ] && [ "$GKE_GCLOUD_AUTH_PLUGIN" != "true" ]; then exit 0; fi; \
    apt-get update; apt-get install -y --no-install-recommends ca-certificates curl unzip gnupg; \
    if [ -n "$AWS_CLI_VERSION" ]; then \
        arch=x86_64; [ "$TARGETARCH" = arm64 ] && arch=aarch64; \
        curl -fsSL "https://awscli.amazonaws.com/awscli-exe-linux-$arch-$AWS_CLI_VERSION.zip" -o /tmp/awscli.zip; \
        unzip -q /tmp/awscli.zip -d /tmp; \
        /tmp/aws/install --install-dir /opt/plugins/aws-cli --bin-dir /opt/plugins/bin; \
    fi; \
    if [ "$GKE_GCLOUD_AUTH_PLUGIN" = "true" ]; then \
        curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg \
            | gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg; \
        echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" \
            > /etc/apt/sources.list.d/google-cloud-sdk.list; \
        apt-get update; apt-get install -y --no-install-recommends google-cloud-cli-gke-gcloud-auth-plugin; \
        cp "$(readlink -f "$(command -v gke-gcloud-auth-plugin)")" /opt/plugins/bin/gke-gcloud-auth-plugin; \
    fi; \
    if [ -n "$KUBELOGIN_VERSION" ]; then \
        curl -fsSL "https://github.com/Azure/kubelogin/releases/download/v$KUBELOGIN_VERSION/kubelogin-linux-$TARGETARCH.zip" \
            -o /tmp/kubelogin.zip; \
        unzip -q /tmp/kubelogin.zip -d /tmp/kubelogin; \
        install -m 0755 "/tmp/kubelogin/bin/linux_$TARGETARCH/kubelogin" /opt/plugins/bin/kubelogin; \
    fi

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/plugins/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# a fixed numeric uid, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd
RUN groupadd --gid 10001 drsyncer \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin drsyncer

WORKDIR /src
COPY pyproject.toml README.md ./
COPY drsyncer ./drsyncer
COPY scheduler ./scheduler
COPY workers ./workers
RUN pip install . && rm -rf /src/build
ARG PYTHON_PLUGINS=""
RUN if [ -n "$PYTHON_PLUGINS" ]; then pip install $PYTHON_PLUGINS; fi
COPY --from=plugins /opt/plugins /opt/plugins

USER 10001:10001
WORKDIR /home/drsyncer
# the docker-compose trial shares the simulated clusters' kubeconfig through a volume mounted here;
# creating it as this user makes a new named volume writable by it
RUN mkdir /home/drsyncer/shared

# watcher /metrics and probes, worker /metrics, Flower
EXPOSE 9090 8081 5555
ENTRYPOINT ["drsyncer"]
CMD ["--help"]
