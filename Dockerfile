# syntax=docker/dockerfile:1
# The trailgate worker (and the trailgate CLI beside it) as a small image.
# docker-compose.yml builds it; configuration comes from TRAILGATE_* variables.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/trailgate-worker ./worker && \
    go build -trimpath -ldflags="-s -w" -o /out/trailgate ./starter && \
    mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/trailgate-worker /out/trailgate /usr/local/bin/
# The worker's proof key lives here (identity.proof_key_file); a volume
# mounted on it keeps the key across restarts and shares it between workers.
COPY --from=build --chown=nonroot:nonroot /out/state /var/lib/trailgate
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/trailgate-worker"]
