# Multi-stage build: the same `cargo build --release` the README uses, then a distroless
# runtime image running as a non-root user. No Docker engine runs on our build machines, so
# this file only uses the README's own commands to keep it from drifting (tests/dockerfile.rs
# builds and runs it where an engine answers).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin idlegate
# The runtime image has no shell, so the config is prepared and checked here. In a container
# the listeners face the container network, and state lives in a volume.
RUN mkdir -p /out/etc/idlegate /out/state \
 && cp -r config/. /out/etc/idlegate/ \
 && sed -i \
      -e 's|^listen = "127.0.0.1:|listen = "0.0.0.0:|' \
      -e 's|^snapshot = .*|snapshot = "/var/lib/idlegate/idlegate.state"|' \
      /out/etc/idlegate/idlegate.toml \
 && target/release/idlegate check --config /out/etc/idlegate/idlegate.toml > /dev/null

# glibc and libgcc only: no shell, no package manager, no curl (the health check is the
# binary's own `idlegate health`). Its `nonroot` user is 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/idlegate /usr/local/bin/idlegate
# Save in the admin UI writes the config beside itself (temp file, then rename), so the
# non-root user owns the config folder; it owns the state folder (the volume) too.
COPY --from=build --chown=65532:65532 /out/etc/idlegate/ /etc/idlegate/
COPY --from=build --chown=65532:65532 /out/state/ /var/lib/idlegate/
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
VOLUME ["/var/lib/idlegate"]
EXPOSE 8080 9901
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD ["idlegate", "health", "--config", "/etc/idlegate/idlegate.toml"]
ENTRYPOINT ["idlegate"]
CMD ["run", "--config", "/etc/idlegate/idlegate.toml"]
