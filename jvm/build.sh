#!/usr/bin/env bash
# Build the project's JVM jars with plain javac against the Flink runtime jars of the pinned PyFlink
# wheel (the very classes the jobs run with, no build plugins to resolve) and the pinned artefacts of
# requirements/jvm.lock (fetched first by `make setup`):
#   build/jvm/imagify-jvm.jar   jvm/src: the contract in Java, its Flink functions, the prompt terms,
#                               the SQLite dialect of the JDBC sink
#   build/jvm/flink-connector-aws-kinesis-streams-6.0.1.jar
#                               jvm/vendor/flink-connector-aws-6.0.1: the Apache Kinesis connector's
#                               source (not on Maven Central for Flink 2.x here), unmodified
# Idempotent: a jar is rebuilt only when one of its inputs changed. Jars are reproducible (fixed
# timestamps). Usage: jvm/build.sh [FLINK_VENV]   (default .venv-flink)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-flink}
lib=$(echo "$venv"/lib/python3*/site-packages/pyflink/lib)
[ -d "$lib" ] || { echo "jvm/build.sh: $lib not found: create $venv first (make setup)" >&2; exit 1; }
out=build/jvm
artifacts=build/jvm-artifacts

# the pinned jars of a set of requirements/jvm.lock, as a classpath (fails if one is not fetched)
set_classpath() {
  local cp="" gav ga v f
  while IFS=$'\t' read -r gav _ set_ _; do
    [ "$set_" = "$1" ] || continue
    ga=${gav%:*}; v=${gav##*:}; f="$artifacts/${ga#*:}-$v.jar"
    [ -f "$f" ] || { echo "jvm/build.sh: $f not found: fetch the pinned jars first (make flink-jars)" >&2; exit 1; }
    cp="$cp:$f"
  done < <(grep -v '^#' requirements/jvm.lock | grep -v '^$')
  echo "${cp#:}"
}

# build_jar JAR CLASSPATH SOURCE_DIR... : compile the .java files under the source dirs and copy their
# resources (src/main/resources next to src/main/java) into JAR, unless JAR is newer than all inputs
build_jar() {
  local jar=$1 cp=$2; shift 2
  local classes="$out/classes-$(basename "$jar" .jar)"
  if [ -f "$jar" ] && [ -z "$(find "$@" jvm/build.sh requirements/jvm.lock -newer "$jar" -print -quit)" ]; then
    return 0
  fi
  rm -rf "$classes" && mkdir -p "$classes"
  # shellcheck disable=SC2046
  javac --release 17 "${JAVAC_FLAGS[@]}" -encoding UTF-8 -cp "$lib/*:$cp" -d "$classes" \
    $(find "$@" -name '*.java' -path '*/src/main/java/*' | sort)
  local r
  for r in $(find "$@" -type d -path '*/src/main/resources' | sort); do cp -r "$r/." "$classes/"; done
  if [ -n "${EXTRA_RESOURCES:-}" ]; then eval "$EXTRA_RESOURCES"; fi
  local tmp
  tmp=$(mktemp "$out/.build.XXXXXX")
  # fixed timestamps: the same sources give the same jar
  find "$classes" -exec touch -d '1980-01-01T00:00:00Z' {} +
  (cd "$classes" && jar --create --file "../$(basename "$tmp")" --date=1980-01-01T00:00:02Z .)
  mv "$tmp" "$jar"
  rm -rf "$classes"
  echo "jvm/build.sh: built $jar"
}
mkdir -p "$out"

# the Kinesis connector: Apache's code, compiled as released (its own warnings are not ours to fix)
JAVAC_FLAGS=(-nowarn -Xlint:none)
EXTRA_RESOURCES="mkdir -p \"\$classes/META-INF\" && cp jvm/vendor/flink-connector-aws-6.0.1/LICENSE jvm/vendor/flink-connector-aws-6.0.1/NOTICE \"\$classes/META-INF/\""
build_jar "$out/flink-connector-aws-kinesis-streams-6.0.1.jar" "$(set_classpath kinesis)" \
  jvm/vendor/flink-connector-aws-6.0.1

# our code: the JDBC connector our SQLite dialect plugs into is pinned in the realtime set; the
# prompt terms' stop-words are the marts' seed, one source for both (ai.imagify.terms.PromptTerms)
stopwords=dbt/seeds/prompt_stopwords.csv
JAVAC_FLAGS=(-Xlint:all,-processing -Werror)
EXTRA_RESOURCES="mkdir -p \"\$classes/ai/imagify/terms\" && cp $stopwords \"\$classes/ai/imagify/terms/prompt_stopwords.csv\""
build_jar "$out/imagify-jvm.jar" "$(set_classpath realtime)" jvm/src "$stopwords"
