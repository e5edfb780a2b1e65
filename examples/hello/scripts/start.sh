#!/bin/sh
# Starts the service as a daemon should be started from a hook: detached from the hook's output
# (it writes a log file of its own) and its PID recorded for ApplicationStop, so the hook ends at
# once and the deployment goes on.
app="${SLIPWAY_INSTALL_ROOT:-}/srv/hello"
mkdir -p "$app/run"
nohup "$app/bin/hello-service" "$app/run" >"$app/run/service.log" 2>&1 </dev/null &
echo $! >"$app/run/service.pid"
echo "started the service on ${SLIPWAY_HOST_NAME:-this host} (pid $!, log $app/run/service.log)"
