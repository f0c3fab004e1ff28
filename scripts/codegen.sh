#!/usr/bin/env bash
# Regenerates src/gen/ from proto/*.proto (ts-proto through buf, both from npm).
# The output is committed so a fresh clone works without running this.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf src/gen
npx buf generate
echo "generated: $(ls src/gen | tr '\n' ' ')"
