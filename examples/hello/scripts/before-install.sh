#!/bin/sh
echo "$LIFECYCLE_EVENT of $APPLICATION_NAME, bundle $BUNDLE_SHA256"
mkdir -p /tmp/slipway-hello
