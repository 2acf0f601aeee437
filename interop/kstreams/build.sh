#!/usr/bin/env bash
# Builds target/lib (kstreams.jar + dependencies) quietly, without running the tests
# (those: cd interop/kstreams && mvn -q test). Then:
#   java -Xmx1g -jar interop/kstreams/target/lib/kstreams.jar --until-idle 10
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rm -rf "$here/target/lib"  # no stale jars on the classpath
# (the sed drops the stray colour codes Maven 3.8 prints even with -B -q)
mvn -B -q -DskipTests -f "$here/pom.xml" package 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d'
