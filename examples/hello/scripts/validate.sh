#!/bin/sh
state=/tmp/slipway-hello/${SLIPWAY_HOST_NAME:-host}
for i in 1 2 3 4 5 6 7 8 9 10; do
  if [ -s "$state/heartbeat" ]; then echo "service is up"; exit 0; fi
  sleep 0.5
done
echo "service did not start" >&2
exit 1
