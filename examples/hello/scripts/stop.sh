#!/bin/sh
# Runs from the previous revision: stop what its ApplicationStart started.
echo "stopping the previous revision (deployment $DEPLOYMENT_ID)"
if [ -f /tmp/slipway-hello/server.pid ]; then
  kill "$(cat /tmp/slipway-hello/server.pid)" 2>/dev/null || true
  rm -f /tmp/slipway-hello/server.pid
fi
