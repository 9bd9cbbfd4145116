#!/bin/sh
# Smoke test for warren-perf, so the tool does not rot. It asserts only
# counts, never speed: a 2-second run moved messages, a counted run
# (with confirms, and through a fanout to 3 queues) consumed exactly what it
# published, and the built-in sink answers a run.
#
# usage: smoke_test.sh PATH/TO/warren-perf
# The broker comes from INTEROP_HOST / INTEROP_PORT (set by interop-tests/
# launch.py); default 127.0.0.1:5672.
set -u

PERF=${1:?usage: smoke_test.sh PATH/TO/warren-perf}
HOST=${INTEROP_HOST:-127.0.0.1}
PORT=${INTEROP_PORT:-5672}
URI="amqp://guest:guest@$HOST:$PORT"
TMP=$(mktemp -d -t warren-perf-smoke.XXXXXX)
SINK_PID=
failures=0

cleanup() {
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# field NAME: the integer (or true/false) value of a top-level key in $RESULT
field() {
    printf '%s\n' "$RESULT" | sed -n "s/.*\"$1\":\([0-9a-z.]*\).*/\1/p"
}

check() {
    # check DESCRIPTION CONDITION...
    desc=$1
    shift
    if "$@"; then
        echo "ok   - $desc"
    else
        echo "FAIL - $desc"
        echo "       $RESULT"
        failures=$((failures + 1))
    fi
}

run() {
    # run NAME ARGS...: sets RESULT to the RESULT line (empty if none)
    name=$1
    shift
    timeout 120 "$PERF" "$@" --quiet --label "smoke-$name" >"$TMP/$name.out" 2>"$TMP/$name.err"
    rc=$?
    RESULT=$(sed -n 's/^RESULT //p' "$TMP/$name.out" | tail -n 1)
    if [ "$rc" -ne 0 ] || [ -z "$RESULT" ]; then
        echo "FAIL - $name: exit $rc"
        cat "$TMP/$name.err" "$TMP/$name.out"
        failures=$((failures + 1))
        return 1
    fi
    return 0
}

# 1. A timed 1p1c run: messages flowed both ways, every latency measured.
if run timed -h "$URI" -z 2 -x 1 -y 1 -s 64 -q 100; then
    check "timed run: ok" [ "$(field ok)" = true ]
    check "timed run: published > 0" [ "$(field published)" -gt 0 ]
    check "timed run: consumed > 0" [ "$(field consumed)" -gt 0 ]
    check "timed run: consumed <= published" [ "$(field consumed)" -le "$(field published)" ]
    check "timed run: latency measured" [ "$(field count)" = "$(field consumed)" ]
fi

# 2. A counted run with confirms: every message confirmed and consumed once.
if run counted -h "$URI" -C 20000 -x 1 -y 1 -s 100 -c 500 -q 100 --timeout 60; then
    check "counted run: published 20000" [ "$(field published)" -eq 20000 ]
    check "counted run: confirmed 20000" [ "$(field confirmed)" -eq 20000 ]
    check "counted run: consumed == published" [ "$(field consumed)" -eq "$(field published)" ]
fi

# 3. Fanout to three queues, two producers: each queue gets every message.
if run fanout -h "$URI" -C 5000 -x 2 -t fanout --queues 3 -s 32 -a --timeout 60; then
    check "fanout run: published 10000" [ "$(field published)" -eq 10000 ]
    check "fanout run: consumed 3 x published" [ "$(field consumed)" -eq 30000 ]
fi

# 4. The sink (used for the tool's own ceiling) answers a run with confirms.
: >"$TMP/sink.err"
"$PERF" --sink 0 -z 30 --quiet 2>"$TMP/sink.err" &
SINK_PID=$!
SINK_PORT=
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    SINK_PORT=$(sed -n 's/.*sink listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/sink.err")
    [ -n "$SINK_PORT" ] && break
    sleep 0.1
done
if [ -z "$SINK_PORT" ]; then
    echo "FAIL - the sink did not start"
    cat "$TMP/sink.err"
    failures=$((failures + 1))
elif run sink -h "amqp://127.0.0.1:$SINK_PORT" -C 50000 -y 0 -c 1000 --timeout 30; then
    check "sink run: 50000 published and confirmed" [ "$(field confirmed)" -eq 50000 ]
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
