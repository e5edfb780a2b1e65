#!/bin/sh
# The site is served once its page names the version the build stamped into it.
site="${SLIPWAY_INSTALL_ROOT:-}/srv/web/site/index.html"
if grep -q 'version [0-9]' "$site"; then
  echo "serving $(grep -o 'version [^<]*' "$site") on ${SLIPWAY_HOST_NAME:-this host}"
  exit 0
fi
echo "no version in $site" >&2
exit 1
