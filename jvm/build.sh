#!/usr/bin/env bash
# Build build/jvm/imagify-jvm.jar from jvm/src (the contract's Java implementation and its Flink
# function). Plain javac against the Flink runtime jars of the pinned PyFlink wheel: the very
# classes the job runs with, no build plugins to resolve. Idempotent: rebuilds only when a source
# changed. Usage: jvm/build.sh [FLINK_VENV]   (default .venv-flink)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-flink}
lib=$(echo "$venv"/lib/python3*/site-packages/pyflink/lib)
[ -d "$lib" ] || { echo "jvm/build.sh: $lib not found: create $venv first (make setup)" >&2; exit 1; }
out=build/jvm
jar=$out/imagify-jvm.jar
srcs=$(find jvm/src/main/java -name '*.java' | sort)
# the JDBC connector our SQLite dialect plugs into: a pinned artefact (make setup fetches it first)
jdbc=$(echo build/jvm-artifacts/flink-connector-jdbc-core-*.jar)
[ -f "$jdbc" ] || { echo "jvm/build.sh: $jdbc not found: fetch the pinned jars first (make flink-jars)" >&2; exit 1; }
stopwords=dbt/seeds/prompt_stopwords.csv
if [ -f "$jar" ] && [ -z "$(find jvm/src jvm/build.sh "$stopwords" -newer "$jar" -print -quit)" ]; then
  exit 0
fi
rm -rf "$out/classes" && mkdir -p "$out/classes"
# shellcheck disable=SC2086
javac --release 17 -Xlint:all,-processing -Werror -encoding UTF-8 -cp "$lib/*:$jdbc" -d "$out/classes" $srcs
cp -r jvm/src/main/resources/. "$out/classes/"
# the prompt terms' stop-words: the marts' seed, one source for both (ai.imagify.terms.PromptTerms)
mkdir -p "$out/classes/ai/imagify/terms" && cp "$stopwords" "$out/classes/ai/imagify/terms/prompt_stopwords.csv"
tmp=$(mktemp "$out/.imagify-jvm.XXXXXX")
# fixed timestamps: the same sources give the same jar
find "$out/classes" -exec touch -d '1980-01-01T00:00:00Z' {} +
(cd "$out/classes" && jar --create --file "../$(basename "$tmp")" --date=1980-01-01T00:00:02Z .)
mv "$tmp" "$jar"
echo "jvm/build.sh: built $jar"
