# One image for every drsyncer component; the command picks it:
#   docker run IMAGE watcher | beat | worker | flower | probe worker | sim ... | status ...
# Settings come from DRSYNCER_* environment variables (docs/configuration.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
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

USER 10001:10001
WORKDIR /home/drsyncer
# the docker-compose trial shares the simulated clusters' kubeconfig through a volume mounted here;
# creating it as this user makes a new named volume writable by it
RUN mkdir /home/drsyncer/shared

# watcher /metrics and probes, worker /metrics, Flower
EXPOSE 9090 8081 5555
ENTRYPOINT ["drsyncer"]
CMD ["--help"]
