#!/bin/sh
# api_invoke.sh — throughput and p50/p99 of invoking add(i32,i32) over HTTP, side by side with
# GET /healthz on the same server in the same run, plus deploy latency.
#
#   bench/api_invoke.sh [DURATION_S] [CONNECTIONS] [THREADS]
#
# Needs wrk and curl; uses build/tensor-wasm and build/guests/add.wasm (run `ninja` first).
# Prints one bencher-style line per figure and writes build/bench/api_invoke.json.
set -eu
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONNS=${2:-32}
THREADS=${3:-2}
WORKERS=${TW_BENCH_WORKERS:-2}
PORT=${TW_BENCH_PORT:-18181}
BIN=build/tensor-wasm
DATA=$(mktemp -d /tmp/tw-bench-api.XXXXXX)
OUT=build/bench
mkdir -p "$OUT"
"$BIN" serve --listen 127.0.0.1:$PORT --workers "$WORKERS" --data-dir "$DATA" \
	--rate-burst 65535 --rate-per-second 10000000 \
	--preload build/guests/add.wasm:add >"$DATA/stdout" 2>"$DATA/stderr" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
i=0
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$DATA/stderr"; exit 1; }
	sleep 0.1
done
ID=$(sed -n 's/^preloaded add as //p' "$DATA/stdout")
[ -n "$ID" ] || { echo "no preloaded id" >&2; exit 1; }

run_wrk() { # label, extra wrk args...
	label=$1; shift
	wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency "$@" >"$DATA/$label.txt"
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$DATA/$label.txt")
	p50=$(awk '$1 == "50%" {print $2}' "$DATA/$label.txt")
	p99=$(awk '$1 == "99%" {print $2}' "$DATA/$label.txt")
	errs=$(awk '/Non-2xx/ {print $NF}' "$DATA/$label.txt")
	echo "$label $rps $p50 $p99 ${errs:-0}"
}
TW_FUNCTION_ID=$ID export TW_FUNCTION_ID
H=$(run_wrk healthz "http://127.0.0.1:$PORT/healthz")
I=$(run_wrk invoke -s bench/api_invoke.lua "http://127.0.0.1:$PORT")

# Deploy latency: sequential deploys of distinct modules (each is fsync'd before 201).
N=${TW_BENCH_DEPLOYS:-50}
python3 - "$PORT" "$N" "$H" "$I" "$OUT/api_invoke.json" "$DUR" "$CONNS" "$WORKERS" <<'PY'
import http.client, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
h, inv, out = sys.argv[3].split(), sys.argv[4].split(), sys.argv[5]
wasm = open("build/guests/add.wasm", "rb").read()
lat = []
for i in range(n):
    name = b"bench%d" % i
    body = wasm + b"\x00" + bytes([len(name) + 1, len(name)]) + name
    c = http.client.HTTPConnection("127.0.0.1", port)
    t0 = time.perf_counter()
    c.request("POST", "/functions?name=d%d" % i, body, {"Content-Type": "application/wasm"})
    r = c.getresponse(); r.read()
    lat.append(time.perf_counter() - t0)
    assert r.status == 201, r.status
    c.close()
lat.sort()
p50, p99 = lat[len(lat) // 2] * 1e3, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3
hr, ir = float(h[1]), float(inv[1])
print("test api/healthz ... bench: %12.0f req/s (p50 %s, p99 %s, non-2xx %s)" % (hr, h[2], h[3], h[4]))
print("test api/invoke_add ... bench: %12.0f req/s (p50 %s, p99 %s, non-2xx %s)" % (ir, inv[2], inv[3], inv[4]))
print("test api/invoke_vs_healthz ... ratio: %.2f" % (ir / hr if hr else 0))
print("test api/deploy ... latency: p50 %.2f ms, p99 %.2f ms over %d deploys" % (p50, p99, n))
json.dump({"duration_s": float(sys.argv[6]), "connections": int(sys.argv[7]),
           "workers": int(sys.argv[8]),
           "healthz": {"rps": hr, "p50": h[2], "p99": h[3], "non_2xx": int(h[4])},
           "invoke_add": {"rps": ir, "p50": inv[2], "p99": inv[3], "non_2xx": int(inv[4])},
           "ratio": ir / hr if hr else 0,
           "deploy_ms": {"p50": p50, "p99": p99, "n": n}}, open(out, "w"), indent=1)
PY
