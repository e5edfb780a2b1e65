#!/bin/sh
# Runs from the previous revision: stops what its ApplicationStart started on this host.
app="${SLIPWAY_INSTALL_ROOT:-}/srv/hello"
if [ -f "$app/run/service.pid" ]; then
  echo "stopping the service on ${SLIPWAY_HOST_NAME:-this host}"
  kill "$(cat "$app/run/service.pid")" 2>/dev/null || true
  rm -f "$app/run/service.pid"
else
  echo "no service running on ${SLIPWAY_HOST_NAME:-this host}"
fi
