#!/usr/bin/env bash
# Builds target/lib (javaclient.jar + dependencies) quietly. Then:
#   java -jar interop/javaclient/target/lib/javaclient.jar [--offsets] BOOTSTRAP FILE.jsonl
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rm -rf "$here/target/lib"  # no stale jars on the classpath
# (the sed drops the stray colour codes Maven 3.8 prints even with -B -q)
mvn -B -q -f "$here/pom.xml" package 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d'
