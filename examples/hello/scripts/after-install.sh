#!/bin/sh
echo "installed files:"
ls -l /tmp/slipway-hello/site
