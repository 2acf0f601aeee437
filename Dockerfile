# tradeflow's image: a static binary on scratch, run as a non-root user.
#   podman build --build-arg VERSION=$(git describe --always --dirty) -t tradeflow .
# The builder stage needs the golang image; the runtime stage has nothing
# but the binary, CA certificates for TLS to Kafka, and a data volume.

FROM docker.io/library/golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/tradeflow ./cmd/tradeflow \
 && mkdir -p /out/data && chown 65532:65532 /out/data

FROM scratch AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="tradeflow" \
      org.opencontainers.image.description="Settles stock trades on Kafka: joins trades with users, settles each, counts per symbol and minute, serves the counts over HTTP and to Prometheus" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/tradeflow/tradeflow"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tradeflow /tradeflow
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV TRADEFLOW_DATA_DIR=/data TRADEFLOW_HTTP_ADDR=:8080
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/tradeflow"]
CMD ["worker"]
