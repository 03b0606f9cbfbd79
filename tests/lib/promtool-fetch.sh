#!/usr/bin/env bash
# promtool-fetch.sh: prints the path of Prometheus' own promtool, taken out
# of Debian's prometheus package. The package is downloaded and unpacked,
# never installed: installing it would start a Prometheus server on the
# machine (and add a user) just to lint our exposition.
# Cache: ${HN_TOOL_CACHE:-/var/cache/hpcnode-tools}/prometheus/usr/bin/promtool
# (a fresh machine fetches once; later runs reuse it).
set -euo pipefail
cache=${HN_TOOL_CACHE:-/var/cache/hpcnode-tools}
tool="$cache/prometheus/usr/bin/promtool"
if [ ! -x "$tool" ]; then
        mkdir -p "$cache"
        tmp=$(mktemp -d "$cache/fetch.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT
        # apt's sandbox user must be able to write where it downloads
        chown _apt "$tmp" 2>/dev/null || true
        (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1) ||
                { echo "promtool-fetch: apt-get download prometheus failed" >&2; exit 1; }
        rm -rf "$cache/prometheus"
        dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"
        mkdir -p "$cache/prometheus/usr/bin"
        mv "$tmp/root/usr/bin/promtool" "$tool"
fi
echo "$tool"
