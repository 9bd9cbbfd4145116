#!/usr/bin/env bash
# run-scenarios.sh - the standard warren-perf scenarios (issue 6: S1-S8, plus
# P1 priority queue and D1 dead-lettering) against Warren and, when it
# answers, against RabbitMQ right after, scenario by scenario; then a table
# of both with the ratio. Loopback only. Benchmarks print figures; this
# script never fails because something was slow.
set -u

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

usage() {
    cat <<EOF
usage: run-scenarios.sh [options]
  --perf PATH          warren-perf binary (env WARREN_PERF; default: PATH, then build dirs)
  --warren HOST:PORT   a running Warren (env WARREN_ADDR; default 127.0.0.1:5672)
  --warren-bin PATH    start this warren binary on a free loopback port, stop it after
  --rabbit HOST:PORT   RabbitMQ (env RABBIT_ADDR; default 127.0.0.1:5673); 'none' skips it
  --seconds N          length of each timed scenario (env SCENARIO_SECONDS; default 5)
  --only LIST          scenarios to run, e.g. S1,S2,S4,P1,D1 (default: all)
  --backlog N          S6 backlog (default 200000; issue 6 asks for 1000000)
  --connections N      S7 connection count (default 10000)
  --no-persistent-warren  skip S3 and S6 against Warren
  --out FILE           append the RESULT lines here (default: a temp file, path printed)
  env WARREN_PID / RABBIT_PID: broker pids for CPU and RSS (default: found with ss)
EOF
}

PERF=${WARREN_PERF:-}
WARREN_ADDR=${WARREN_ADDR:-127.0.0.1:5672}
RABBIT_ADDR=${RABBIT_ADDR:-127.0.0.1:5673}
WARREN_BIN=
SECS=${SCENARIO_SECONDS:-5}
ONLY=
BACKLOG=200000
CONNS=10000
PERSIST_WARREN=1
OUT=

while [ $# -gt 0 ]; do
    case $1 in
    --perf) PERF=$2; shift 2 ;;
    --warren) WARREN_ADDR=$2; shift 2 ;;
    --warren-bin) WARREN_BIN=$2; shift 2 ;;
    --rabbit) RABBIT_ADDR=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --backlog) BACKLOG=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --no-persistent-warren) PERSIST_WARREN=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run-scenarios.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

if [ -z "$PERF" ]; then
    PERF=$(command -v warren-perf || true)
    for p in "$ROOT"/build*/interop-tests/perf/warren-perf; do
        [ -z "$PERF" ] && [ -x "$p" ] && PERF=$p
    done
fi
if [ -z "$PERF" ] || [ ! -x "$PERF" ]; then
    echo "run-scenarios.sh: no warren-perf binary; build it or pass --perf" >&2
    exit 2
fi
if [ -z "$OUT" ]; then
    OUT=$(mktemp -t warren-perf-results.XXXXXX)
fi

host_of() { echo "${1%:*}" | tr -d '[]'; }
port_of() { echo "${1##*:}"; }

loopback() {
    case $(host_of "$1") in
    127.* | localhost | ::1) return 0 ;;
    *) return 1 ;;
    esac
}

reachable() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$(host_of "$1")/$(port_of "$1")" 2>/dev/null
}

pid_listening_on() {
    ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}

# --- optionally start our own Warren -----------------------------------------
WARREN_STARTED_PID=
WARREN_DIR=
# shellcheck disable=SC2317 # called from the EXIT trap
stop_warren() {
    if [ -n "$WARREN_STARTED_PID" ]; then
        kill "$WARREN_STARTED_PID" 2>/dev/null
        wait "$WARREN_STARTED_PID" 2>/dev/null
    fi
    [ -n "$WARREN_DIR" ] && rm -rf "$WARREN_DIR"
}
trap stop_warren EXIT

if [ -n "$WARREN_BIN" ]; then
    port=
    for p in $(seq 25700 25999); do
        if [ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ]; then port=$p; break; fi
    done
    [ -z "$port" ] && { echo "run-scenarios.sh: no free port" >&2; exit 2; }
    WARREN_DIR=$(mktemp -d -t warren-bench.XXXXXX)
    WARREN_BIN=$(cd "$(dirname "$WARREN_BIN")" && pwd)/$(basename "$WARREN_BIN")
    # Started from this shell (no subshell) so that $! is the broker itself.
    cd "$WARREN_DIR" || exit 2
    "$WARREN_BIN" --port "$port" --bind 127.0.0.1 >broker.log 2>&1 &
    WARREN_STARTED_PID=$!
    cd - >/dev/null || exit 2
    WARREN_ADDR=127.0.0.1:$port
    for _ in $(seq 1 100); do reachable "$WARREN_ADDR" && break; sleep 0.1; done
    WARREN_PID=$WARREN_STARTED_PID
fi

for a in "$WARREN_ADDR" "$RABBIT_ADDR"; do
    if [ "$a" != none ] && ! loopback "$a"; then
        echo "run-scenarios.sh: $a is not a loopback address; benchmarks stay on this machine" >&2
        exit 2
    fi
done
if ! reachable "$WARREN_ADDR"; then
    echo "run-scenarios.sh: no Warren at $WARREN_ADDR" >&2
    exit 2
fi
BROKERS=(warren)
if [ "$RABBIT_ADDR" != none ] && reachable "$RABBIT_ADDR"; then
    BROKERS+=(rabbit)
else
    echo "run-scenarios.sh: RabbitMQ not reachable at $RABBIT_ADDR; Warren only" >&2
fi
WARREN_PID=${WARREN_PID:-$(pid_listening_on "$(port_of "$WARREN_ADDR")")}
RABBIT_PID=${RABBIT_PID:-$(pid_listening_on "$(port_of "$RABBIT_ADDR")")}

# --- scenarios ---------------------------------------------------------------
# id | what | warren-perf arguments | rows (metric:label, comma separated)
# Metrics: a top-level RESULT key, or p99 (end-to-end latency). Rates are
# msg/s; S4's consumed_rate counts deliveries (10 per message).
# S7 goes first, while the broker's heap holds little from other scenarios.
SCENARIOS=(
    "S7|$CONNS idle connections|--connections $CONNS -z 1 --timeout 300|opened:opened,broker_kb_per_connection:kB/conn"
    "S1|1p1c 16 B autoack|-x 1 -y 1 -s 16 -a -z $SECS|consumed_rate:msg/s"
    "S2|1p1c 1 KiB ack, prefetch 100|-x 1 -y 1 -s 1024 -q 100 -z $SECS|consumed_rate:msg/s"
    "S3|1p1c 1 KiB persistent, confirms 1000|-x 1 -y 1 -s 1024 -f -c 1000 -q 100 -z $SECS|confirmed_rate:confirmed/s"
    "S4|fanout to 10 queues, 1 KiB|-x 1 -t fanout --queues 10 -s 1024 -q 100 -z $SECS|consumed_rate:deliveries/s"
    "S5|1p1c 1 KiB at 1,000 msg/s|-x 1 -y 1 -s 1024 -q 100 -r 1000 -z $SECS|p99:p99 us"
    "S5b|1p1c 1 KiB at 100,000 msg/s|-x 1 -y 1 -s 1024 -q 100 -r 100000 -z $SECS|p99:p99 us,consumed_rate:msg/s"
    "S6|backlog $BACKLOG persistent 1 KiB, confirms|--backlog $BACKLOG -x 1 -y 1 -s 1024 -f -c 1000 -q 100 --timeout 600|published_rate:publish/s,consumed_rate:drain/s,broker_rss_kb_full:RSS kB full"
    "S8|topic, 10,000 bindings, 16 B|-x 1 -y 1 -s 16 -a -t topic --bindings 10000 -z $SECS|consumed_rate:msg/s"
    "P1|priority queue, 10 levels, 1 KiB|-x 1 -y 1 -s 1024 -q 100 --queue-args x-max-priority=10 --priorities 10 -z $SECS|consumed_rate:msg/s"
    "D1|reject all -> DLX -> 2nd queue, 1 KiB|-x 1 -y 1 -s 1024 -q 100 --queue-args x-dead-letter-exchange=warren-perf-dlx --dlq warren-perf-dlq --reject-ratio 1 -z $SECS|dlq_rate:dead-lettered/s"
)

# Lower is better for these; the ratio is then RabbitMQ / Warren.
lower_is_better() {
    case $1 in p99 | broker_kb_per_connection | broker_rss_kb_full) return 0 ;; *) return 1 ;; esac
}

wanted() {
    [ -z "$ONLY" ] && return 0
    case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}

jnum() { # jnum KEY JSON
    printf '%s\n' "$2" | sed -n "s/.*\"$1\":\(-\{0,1\}[0-9.]*\).*/\1/p" | head -n 1
}
metric() { # metric NAME JSON
    if [ "$1" = p99 ]; then
        printf '%s\n' "$2" | sed -n 's/.*"latency_us":{[^}]*"p99":\([0-9.]*\).*/\1/p'
    else
        jnum "$1" "$2"
    fi
}

declare -A RES
run_one() { # run_one ID BROKER ARGS
    local id=$1 broker=$2 args=$3 addr pid line out
    if [ "$broker" = warren ]; then addr=$WARREN_ADDR; pid=${WARREN_PID:-}; else addr=$RABBIT_ADDR; pid=${RABBIT_PID:-}; fi
    # shellcheck disable=SC2086 # args is a word list on purpose
    out=$(timeout 900 "$PERF" -h "amqp://guest:guest@$addr" $args --quiet --label "$id" \
        ${pid:+--broker-pid $pid} 2>&1)
    line=$(printf '%s\n' "$out" | sed -n 's/^RESULT //p' | tail -n 1)
    if [ -z "$line" ]; then
        # shellcheck disable=SC1003 # tr deletes quotes and backslashes
        line="{\"ok\":false,\"error\":\"no RESULT line: $(printf '%s' "$out" | tail -n 1 | tr -d '"\\')\"}"
    fi
    RES[$id,$broker]=$line
    echo "$broker $id $line" >>"$OUT"
    printf '  %-4s %-7s %s\n' "$id" "$broker" \
        "$(printf '%s' "$line" | sed 's/.*"error":"\([^"]*\)".*/error: \1/; s/^{"ok":true.*/ok/')" >&2
}

echo "warren-perf scenarios: Warren $WARREN_ADDR${WARREN_PID:+ (pid $WARREN_PID)}," \
    "RabbitMQ ${RABBIT_ADDR}${RABBIT_PID:+ (pid $RABBIT_PID)}; ${SECS}s each; results in $OUT" >&2
for s in "${SCENARIOS[@]}"; do
    IFS='|' read -r id _ args _ <<<"$s"
    wanted "$id" || continue
    for b in "${BROKERS[@]}"; do
        if [ "$b" = warren ] && [ "$PERSIST_WARREN" = 0 ] && { [ "$id" = S3 ] || [ "$id" = S6 ]; }; then
            RES[$id,$b]=na
            continue
        fi
        run_one "$id" "$b" "$args"
        sleep 1 # let the broker finish deleting the run's queues
    done
done

# --- table -------------------------------------------------------------------
fmt() { # fmt VALUE: thousands separators for big numbers, one decimal below 100
    awk -v v="$1" 'BEGIN {
        if (v == "") { print "-"; exit }
        if (v + 0 < 100 && v != int(v)) { printf "%.1f\n", v; exit }
        s = sprintf("%.0f", v); o = ""
        while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
        print s o }'
}

cell() { # cell ID BROKER METRIC
    local r=${RES[$1,$2]:-}
    if [ -z "$r" ]; then echo "-"; return; fi
    if [ "$r" = na ]; then echo "n/a"; return; fi
    case $r in '{"ok":false'*) echo "error"; return ;; esac
    fmt "$(metric "$3" "$r")"
}

raw() { # raw ID BROKER METRIC: the number or empty
    local r=${RES[$1,$2]:-}
    case $r in '{"ok":true'*) metric "$3" "$r" ;; *) echo "" ;; esac
}

cpu() { # cpu ID BROKER KEY: a CPU percentage from the RESULT line
    local r=${RES[$1,$2]:-} v
    case $r in '{"ok":true'*) v=$(jnum "$3" "$r"); [ -n "$v" ] && echo "$v%" || echo "-" ;; *) echo "-" ;; esac
}

printf '\n%-4s %-40s %-15s %14s %14s %9s %7s %7s %7s\n' id scenario metric Warren RabbitMQ "W ahead" \
    "W cpu" "R cpu" "tool"
printf '%s\n' "$(printf '%.0s-' $(seq 1 124))"
for s in "${SCENARIOS[@]}"; do
    IFS='|' read -r id what _ rows <<<"$s"
    wanted "$id" || continue
    IFS=',' read -r -a rowlist <<<"$rows"
    first=1
    for row in "${rowlist[@]}"; do
        m=${row%%:*}
        label=${row#*:}
        w=$(raw "$id" warren "$m")
        r=$(raw "$id" rabbit "$m")
        ratio=-
        if [ -n "$w" ] && [ -n "$r" ]; then
            if lower_is_better "$m"; then
                ratio=$(awk -v a="$r" -v b="$w" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
            else
                ratio=$(awk -v a="$w" -v b="$r" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
            fi
        fi
        if [ $first = 1 ]; then
            printf '%-4s %-40s %-15s %14s %14s %9s %7s %7s %7s\n' "$id" "$what" "$label" \
                "$(cell "$id" warren "$m")" "$(cell "$id" rabbit "$m")" "$ratio" \
                "$(cpu "$id" warren broker_cpu_pct)" "$(cpu "$id" rabbit broker_cpu_pct)" \
                "$(cpu "$id" warren tool_cpu_pct)"
        else
            printf '%-4s %-40s %-15s %14s %14s %9s\n' "" "" "$label" \
                "$(cell "$id" warren "$m")" "$(cell "$id" rabbit "$m")" "$ratio"
        fi
        first=0
    done
done
echo
echo "W ahead: Warren / RabbitMQ for rates, RabbitMQ / Warren for latency and memory (above 1 = Warren ahead)."
echo "W cpu, R cpu: the broker's CPU over the run (100% = one core); tool: warren-perf's own, in the Warren run."
echo "Raw RESULT lines: $OUT"
errors=$(grep -h '"ok":false' "$OUT" 2>/dev/null | sed 's/^\([a-z]*\) \([A-Z0-9a-z]*\) .*"error":"\([^"]*\)".*/  \2 \1: \3/' | sort -u)
if [ -n "$errors" ]; then
    echo "errors:"
    echo "$errors"
fi
echo "Chart: python3 $SCRIPT_DIR/chart.py $OUT -o warren-perf-chart.svg"
exit 0
