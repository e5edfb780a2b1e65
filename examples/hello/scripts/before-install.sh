#!/bin/sh
echo "$LIFECYCLE_EVENT of $APPLICATION_NAME on ${SLIPWAY_HOST_NAME:-this host}, bundle $BUNDLE_SHA256"
