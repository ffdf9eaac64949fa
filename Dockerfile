# syntax=docker/dockerfile:1
# costd's container image: built with the locked dependencies, run as a
# non-root user on a distroless base (glibc, CA certificates, no shell).
#   docker build -t costd --build-arg COSTD_GIT_COMMIT=$(git rev-parse --short=12 HEAD) .
#   docker run --rm -p 8080:8080 -v costd-data:/var/lib/costd \
#     -v $PWD/my.toml:/etc/costd/costd.toml:ro costd serve --config /etc/costd/costd.toml

FROM rust:1.95-slim-bookworm AS build
ARG COSTD_GIT_COMMIT=unknown
ENV COSTD_GIT_COMMIT=${COSTD_GIT_COMMIT}
WORKDIR /src
COPY . .
# The release profile strips the binary and links it with LTO; the price
# tables and the default config are embedded in it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin costd \
    && install -D -m 0755 target/release/costd /out/usr/local/bin/costd \
    && install -d -m 0750 /out/var/lib/costd

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/usr/local/bin/costd /usr/local/bin/costd
# The store lives here (mount a volume); uid 65532 is distroless's nonroot.
COPY --from=build --chown=65532:65532 /out/var/lib/costd /var/lib/costd
USER 65532:65532
WORKDIR /var/lib/costd
VOLUME ["/var/lib/costd"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/costd", "health", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/costd"]
# The embedded defaults (dry-run, no AWS account); mount a config for real use.
CMD ["serve"]
