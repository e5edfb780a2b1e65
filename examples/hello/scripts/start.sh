#!/bin/sh
# Starts a background "service" that keeps running after the hook ends (and keeps the hook's
# output open): the deployment must not hang on it.
state=/tmp/slipway-hello/${SLIPWAY_HOST_NAME:-host}
echo "starting the service on ${SLIPWAY_HOST_NAME:-this host}"
(while true; do date > "$state/heartbeat"; sleep 1; done) &
echo $! > "$state/server.pid"
