#!/bin/sh
# Starts a background "server" that keeps running after the hook ends (and keeps the hook's
# output open): the deployment must not hang on it.
echo "starting the service"
(while true; do date > /tmp/slipway-hello/heartbeat; sleep 1; done) &
echo $! > /tmp/slipway-hello/server.pid
