# Multi-stage build: the same `cargo build --release` the README uses, then a small runtime
# image running as a non-root user. No Docker engine runs on our build machines, so this file
# only uses the README's own commands to keep it from drifting.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin idlegate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/idlegate --create-home idlegate
COPY --from=build /src/target/release/idlegate /usr/local/bin/idlegate
COPY config/ /etc/idlegate/
# In a container the listeners face the container network, and state lives in a volume.
RUN sed -i \
      -e 's|^listen = "127.0.0.1:|listen = "0.0.0.0:|' \
      -e 's|^snapshot = .*|snapshot = "/var/lib/idlegate/idlegate.state"|' \
      /etc/idlegate/idlegate.toml \
 && idlegate check --config /etc/idlegate/idlegate.toml > /dev/null \
 && chown -R idlegate:idlegate /etc/idlegate
# Save in the admin UI writes the config beside itself (temp file, then rename), so the
# non-root user owns the config folder.
USER idlegate
VOLUME ["/var/lib/idlegate"]
EXPOSE 8080 9901
HEALTHCHECK --interval=10s --timeout=2s CMD curl -fsS http://127.0.0.1:9901/healthz || exit 1
ENTRYPOINT ["idlegate"]
CMD ["run", "--config", "/etc/idlegate/idlegate.toml"]
