#!/bin/sh
# The example's tests: check the built files in DIST and write the results as JUnit XML to OUT,
# which the buildspec's report group reads. Exits 1 when a test failed.
set -u
dist=$1 out=$2
mkdir -p "$(dirname "$out")"
failed=0 cases=""
check() { # name, command...
  name=$1; shift
  if "$@" >/dev/null 2>&1; then
    cases="$cases<testcase classname=\"greeting\" name=\"$name\" time=\"0.001\"/>"
  else
    failed=$((failed + 1))
    cases="$cases<testcase classname=\"greeting\" name=\"$name\" time=\"0.001\"><failure message=\"$name failed\"/></testcase>"
  fi
}
check "greets the world" grep -q "world" "$dist/greeting.txt"
check "names the version" grep -q "version 1\." "$dist/VERSION"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="greeting" tests="2" failures="%d">%s</testsuite></testsuites>\n' \
  "$failed" "$cases" > "$out"
echo "tests: 2, failed: $failed"
[ "$failed" -eq 0 ]
