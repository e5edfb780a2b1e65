#!/bin/sh
# The service is up once it has written a heartbeat; give it 5 seconds.
app="${SLIPWAY_INSTALL_ROOT:-}/srv/hello"
for i in 1 2 3 4 5 6 7 8 9 10; do
  if [ -s "$app/run/heartbeat" ]; then echo "service is up"; exit 0; fi
  sleep 0.5
done
echo "service did not start: see $app/run/service.log" >&2
exit 1
