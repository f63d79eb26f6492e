#!/bin/sh
# `npm run example [-- <name>]`: synthesizes examples/<name> (basic by default) with the real CDK
# CLI, without AWS credentials, into examples/<name>/cdk.out and prints a summary of what it deploys
# and its monthly cost at list prices (scripts/cost).
set -eu
name="${1:-basic}"
if [ ! -f "examples/$name/cdk.json" ]; then
  echo "no example '$name'; the examples are: $(ls examples | tr '\n' ' ')" >&2
  exit 1
fi
(cd "examples/$name" && cdk synth --quiet --no-notices --no-version-reporting --output cdk.out)
ts-node --project tsconfig.dev.json scripts/example-report.ts "examples/$name/cdk.out"
