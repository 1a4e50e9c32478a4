# syntax=docker/dockerfile:1
#
# The sence-engine container image: the static engine binary, built by
# packaging/build.sh exactly as the release binaries are (CI builds it the
# same way and compares it with the release), on a distroless base that has
# the CA certificates and nothing else. It runs as a non-root user; the
# America/Santiago time-zone data is inside the binary.
#
# Build it from a checkout (README, «Contenedor»):
#
#   docker build -t sence-engine:1.2.0 \
#     --build-arg VERSION=1.2.0 \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ) .
#
# Mount the mapping at /etc/sence-engine/mapping.yaml and a persistent volume
# at /var/lib/sence-engine (the ledger); pass SENCE_RUT_OTEC, SENCE_TOKEN and
# MOODLE_DSN as environment variables.

# Equal to RELEASE_GO in packaging/build.sh (packaging/packaging_test.go checks).
ARG GO_VERSION=1.27.3

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
ARG TARGETOS
ARG TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH VERSION=$VERSION COMMIT=$COMMIT DATE=$DATE \
    packaging/build.sh /out/engine \
 && mkdir /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/engine /usr/bin/engine
# The ledger's folder, owned by the image's user: a new volume mounted here
# starts with this owner.
COPY --from=build --chown=65532:65532 /out/state /var/lib/sence-engine
USER 65532:65532
WORKDIR /var/lib/sence-engine
ENTRYPOINT ["/usr/bin/engine"]
CMD ["run", "--log-format", "json", "/etc/sence-engine/mapping.yaml"]
