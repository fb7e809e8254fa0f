# Build stage: the Swift 6 toolchain on Debian bookworm, with the C libraries Rotary links.
FROM swift:6.1-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libmicrohttpd-dev libopenblas-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
# Set to 1 for processors without AVX2 (see README).
ARG ROTARY_PORTABLE=
ENV ROTARY_PORTABLE=${ROTARY_PORTABLE}
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib \
 && mkdir -p /out \
 && cp .build/release/rotary /out/ \
 && cp -RL .build/release/Rotary_RotaryService.resources /out/

# Runtime stage: only the shared libraries the binary needs, run as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libmicrohttpd12 libopenblas0-pthread curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin rotary
WORKDIR /app
COPY --from=build /out/ /app/
USER rotary
EXPOSE 8080
ENV ROTARY_HOST=0.0.0.0 ROTARY_PORT=8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["/app/rotary", "serve"]
CMD ["--host", "0.0.0.0", "--port", "8080"]
