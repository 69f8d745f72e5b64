# Tayori: the server (with the dashboard bundle) and the worker in one slim image.
# Same steps as scripts/start: wasm32 target, wasm-bindgen-cli at Cargo.lock's version,
# scripts/build-web, then a release build of the binaries.

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-unknown-unknown
COPY Cargo.toml Cargo.lock ./
RUN version="$(awk '/^name = "wasm-bindgen"$/ { f = 1; next } f && /^version = / { gsub(/"/, "", $3); print $3; exit }' Cargo.lock)" \
 && cargo install wasm-bindgen-cli --version "$version"
COPY . .
RUN scripts/build-web \
 && cargo build --release --bin server --bin worker

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/tayori --create-home tayori
COPY --from=build /src/target/release/server /src/target/release/worker /usr/local/bin/
COPY --from=build /src/web/dist /usr/share/tayori/web
USER tayori
WORKDIR /var/lib/tayori
ENV TAYORI_LISTEN=0.0.0.0:8080 \
    TAYORI_WEB_DIR=/usr/share/tayori/web \
    TAYORI_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
CMD ["server"]
