#!/bin/sh
app="${SLIPWAY_INSTALL_ROOT:-}/srv/hello"
echo "installed files:"
ls -l "$app/site" "$app/bin"
