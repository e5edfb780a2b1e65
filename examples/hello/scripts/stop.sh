#!/bin/sh
# Runs from the previous revision: stop what its ApplicationStart started on this host.
# SLIPWAY_HOST_NAME keeps hosts apart when several agents share one machine (slipway dev --agents).
state=/tmp/slipway-hello/${SLIPWAY_HOST_NAME:-host}
echo "stopping the previous revision on ${SLIPWAY_HOST_NAME:-this host}"
if [ -f "$state/server.pid" ]; then
  kill "$(cat "$state/server.pid")" 2>/dev/null || true
  rm -f "$state/server.pid"
fi
