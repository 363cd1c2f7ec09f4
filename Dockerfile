# Lattice: Open Badges 3.0 issuing/verification service.
#   docker build -t lattice . && docker run -p 8000:8000 -v lattice-data:/data \
#     -e LATTICE_PUBLIC_URL=https://badges.example.org lattice
#   CLI inside it: docker exec <container> lattice issuer create … (see README "In a container")
# or, with PostgreSQL: docker compose up   (see compose.yaml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --uid 10001 --shell /usr/sbin/nologin lattice \
    && mkdir /data && chown lattice:lattice /data

WORKDIR /src
COPY . .
RUN pip install . && cd / && rm -rf /src

USER lattice
WORKDIR /home/lattice
ENV LATTICE_HOST=0.0.0.0 \
    LATTICE_DATA_DIR=/data \
    LATTICE_DATABASE_URL=sqlite+aiosqlite:////data/lattice.db
VOLUME /data
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["lattice", "serve"]
