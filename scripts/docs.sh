#!/usr/bin/env bash
# Builds the DocC documentation of the ZMesh module (Sources/ZMesh/ZMesh.docc and the
# `///` comments of its public API) with swift-docc-plugin, treating every warning as an
# error: an unresolved symbol link or a broken article fails the build.
#
#   scripts/docs.sh                  # a documentation archive: .build/plugins/Swift-DocC/outputs/ZMesh.doccarchive
#   scripts/docs.sh --static DIR     # a static website in DIR (open DIR/documentation/zmesh/index.html through a web server)
#
# Needs what `swift build` needs (libzmq3-dev); scripts/test.sh installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--static" ]; then
  out=${2:?"usage: scripts/docs.sh [--static DIR]"}
  swift package --allow-writing-to-directory "$out" generate-documentation --target ZMesh \
    --warnings-as-errors --disable-indexing --transform-for-static-hosting \
    --hosting-base-path zmesh --output-path "$out"
  echo "docs.sh: static site in $out"
else
  swift package generate-documentation --target ZMesh --warnings-as-errors --disable-indexing
fi
