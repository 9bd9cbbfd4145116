#!/usr/bin/env bash
# ceiling.sh - warren-perf's own ceiling: the same kinds of runs as the
# scenarios, against the built-in sink (handshake, -ok replies, publishes
# dropped, deliveries pre-encoded and flooded), so neither routing nor
# queueing is measured. Prints rates and the tool's CPU cost per message.
#
# usage: ceiling.sh PATH/TO/warren-perf [seconds-per-run]
set -u

PERF=${1:?usage: ceiling.sh PATH/TO/warren-perf [seconds]}
SECS=${2:-3}
TMP=$(mktemp -d -t warren-perf-ceiling.XXXXXX)
SINK_PID=

stop_sink() {
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; fi
    SINK_PID=
}
trap 'stop_sink; rm -rf "$TMP"' EXIT

jnum() { printf '%s\n' "$2" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" | head -n 1; }

CASES=(
    "publish only|-x 1 -y 0"
    "consume only, autoack|-x 0 -y 1 -a"
    "1p1c autoack|-x 1 -y 1 -a"
    "1p1c confirms 1000, acks|-x 1 -y 1 -c 1000 -q 100"
    "1 producer, 10 consumers|-x 1 -t fanout --queues 10 -a"
)

printf '%-6s %-28s %14s %14s %9s %12s\n' size run "published/s" "consumed/s" "tool cpu" "ns/message"
for size in 16 1024; do
    : >"$TMP/sink.err"
    "$PERF" --sink 0 -s "$size" --quiet 2>"$TMP/sink.err" &
    SINK_PID=$!
    port=
    for _ in $(seq 1 50); do
        port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/sink.err")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -z "$port" ] && { echo "the sink did not start" >&2; exit 1; }
    for c in "${CASES[@]}"; do
        name=${c%%|*}
        args=${c#*|}
        # shellcheck disable=SC2086
        line=$(timeout 120 "$PERF" -h "amqp://127.0.0.1:$port" -s "$size" -z "$SECS" $args --quiet |
            sed -n 's/^RESULT //p')
        pub=$(jnum published "$line")
        con=$(jnum consumed "$line")
        cpu_s=$(jnum tool_cpu_s "$line")
        cpu_pct=$(jnum tool_cpu_pct "$line")
        awk -v size="$size" -v name="$name" -v pub="$pub" -v con="$con" -v s="$SECS" \
            -v cs="$cpu_s" -v cp="$cpu_pct" 'BEGIN {
                n = pub + con
                printf "%-6s %-28s %14.0f %14.0f %8.0f%% %12.0f\n", size " B", name, pub / s, con / s,
                    cp, (n > 0 ? cs * 1e9 / n : 0) }'
    done
    stop_sink
done
echo "ns/message: warren-perf's CPU time (user + system, kernel TCP included) per message sent or received."
