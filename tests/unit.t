#!/bin/sh
# The C unit tests (tests/unit/*.c), built by make as build/unit.
exec "${UNIT_BIN:-$(dirname "$0")/../build/unit}"
