#!/usr/bin/env bash
# Runs every registered test of one build directory through ctest, the one test runner.
# Services (PostgreSQL, MariaDB, S3) are started by the integration tests themselves via
# scripts/services.sh and stopped by pid when they finish.
set -euo pipefail
build=${1:-build}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j "${NB_TEST_JOBS:-2}" ${NB_CTEST_ARGS:-}
