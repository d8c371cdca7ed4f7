#!/bin/sh
# trace_overhead.sh — invoke throughput with span export on vs off, same binary, same run.
#
#   bench/trace_overhead.sh [ROUNDS] [DURATION_S] [CONNECTIONS] [THREADS]
#
# Starts two `tensor-wasm serve` processes with add.wasm preloaded: "off" with no OTLP endpoint
# (trace context still propagates, spans are not kept) and "on" exporting every span (sampling
# ratio 1) to a local OTLP/HTTP receiver that accepts and discards. Then runs wrk with
# bench/api_invoke.lua against each, alternating which goes first every round, because the
# machine is shared and noisy: the figures to read are the medians over the rounds. At the end
# it reads the "on" server's span counters from /metrics (exported, dropped by reason) so the
# figure says how many of the spans were really exported.
#
# Needs wrk, curl and python3; uses build/tensor-wasm and build/guests/add.wasm (`ninja` and
# `ninja build/guests/add.wasm` first). Prints bencher-style lines and writes
# build/bench/trace_overhead.json.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
DUR=${2:-5}
CONNS=${3:-32}
THREADS=${4:-2}
WORKERS=${TW_BENCH_WORKERS:-2}
BIN=build/tensor-wasm
OUT=build/bench
DATA=$(mktemp -d /tmp/tw-bench-trace.XXXXXX)
mkdir -p "$OUT" "$DATA/off" "$DATA/on"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$DATA"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The receiver: HTTP/1.1, reads each POST body and answers 200 without parsing it.
SINK=$(free_port)
python3 - "$SINK" "$DATA/sink.json" <<'PY' &
import json, signal, socket, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
stats = {"requests": 0, "bytes": 0}
scratch = bytearray(1 << 20)
def serve(c):
    # Headers are read into a small buffer; bodies are received into scratch space and
    # dropped, so the receiver costs a few syscalls per batch, not a copy per byte.
    view = memoryview(bytearray(1 << 20))
    try:
        while True:
            have = 0
            while True:
                n = c.recv_into(view[have:])
                if n == 0:
                    return
                have += n
                end = bytes(view[:have]).find(b"\r\n\r\n")
                if end >= 0:
                    break
            head = bytes(view[:end]).lower()
            i = head.find(b"content-length:")
            size = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
            left = size - (have - end - 4)
            while left > 0:
                n = c.recv_into(scratch, min(left, len(scratch)))
                if n == 0:
                    return
                left -= n
            stats["requests"] += 1
            stats["bytes"] += size
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    finally:
        c.close()
def stop(*_):
    json.dump(stats, open(out, "w"))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
SINK_PID=$!
PIDS="$PIDS $SINK_PID"

start_server() { # name port [env...]
	name=$1 port=$2; shift 2
	env -u TENSOR_WASM_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_ENDPOINT "$@" \
		"$BIN" serve --listen 127.0.0.1:"$port" --workers "$WORKERS" \
		--data-dir "$DATA/$name" --rate-burst 65535 --rate-per-second 10000000 \
		--preload build/guests/add.wasm:add >"$DATA/$name.stdout" 2>"$DATA/$name.stderr" &
	PIDS="$PIDS $!"
	i=0
	until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$DATA/$name.stderr"; exit 1; }
		sleep 0.1
	done
}
P_OFF=$(free_port)
P_ON=$(free_port)
start_server off "$P_OFF"
start_server on "$P_ON" TENSOR_WASM_OTLP_ENDPOINT="http://127.0.0.1:$SINK" \
	TENSOR_WASM_TRACE_SAMPLE_RATIO=1
ON_PID=$(echo $PIDS | awk '{print $NF}')

# CPU ticks (user + system) of the receiver and of the "on" server's exporter thread: the
# receiver shares this machine only because the bench has no other one, so its cost is
# reported beside the figure.
ticks() { awk '{print $14 + $15}' "$1" 2>/dev/null || echo 0; }
exporter_ticks() {
	t=0
	for d in /proc/"$ON_PID"/task/*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = tw-span-export ] && t=$(ticks "$d/stat")
	done
	echo "$t"
}
ID_OFF=$(sed -n 's/^preloaded add as //p' "$DATA/off.stdout")
ID_ON=$(sed -n 's/^preloaded add as //p' "$DATA/on.stdout")
[ -n "$ID_OFF" ] && [ -n "$ID_ON" ] || { echo "no preloaded id" >&2; exit 1; }

one() { # name port id -> "rps p50 p99 non2xx" (the caller appends receiver/exporter ticks)
	TW_FUNCTION_ID=$3 wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency \
		-s bench/api_invoke.lua "http://127.0.0.1:$2" >"$DATA/wrk.txt"
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$DATA/wrk.txt")
	p50=$(awk '$1 == "50%" {print $2}' "$DATA/wrk.txt")
	p99=$(awk '$1 == "99%" {print $2}' "$DATA/wrk.txt")
	errs=$(awk '/Non-2xx/ {print $NF}' "$DATA/wrk.txt")
	echo "$rps $p50 $p99 ${errs:-0}"
}
# Warm both (instance pools, page cache) before measuring.
DUR_SAVED=$DUR; DUR=1
one off "$P_OFF" "$ID_OFF" >/dev/null
one on "$P_ON" "$ID_ON" >/dev/null
DUR=$DUR_SAVED
: >"$DATA/rounds.txt"
r=0
while [ $r -lt "$ROUNDS" ]; do
	if [ $((r % 2)) -eq 0 ]; then order="off on"; else order="on off"; fi
	for name in $order; do
		s0=$(ticks /proc/"$SINK_PID"/stat) e0=$(exporter_ticks)
		if [ "$name" = off ]; then res=$(one off "$P_OFF" "$ID_OFF")
		else res=$(one on "$P_ON" "$ID_ON"); fi
		s1=$(ticks /proc/"$SINK_PID"/stat) e1=$(exporter_ticks)
		res="$res $((s1 - s0)) $((e1 - e0))"
		echo "$r $name $res" >>"$DATA/rounds.txt"
		echo "round $r $name: $res" >&2
	done
	r=$((r + 1))
done
sleep 1 # let the exporter send its last batches
curl -sf "http://127.0.0.1:$P_ON/metrics" >"$DATA/metrics.txt"

python3 - "$DATA/rounds.txt" "$DATA/metrics.txt" "$OUT/trace_overhead.json" "$DUR" "$CONNS" \
	"$WORKERS" <<'PY'
import json, re, statistics, sys
rounds = [l.split() for l in open(sys.argv[1]) if l.strip()]
met = open(sys.argv[2]).read()
def m(series):
    x = re.search(r"^%s (\S+)$" % re.escape(series), met, re.M)
    return float(x.group(1)) if x else 0.0
off = [float(r[2]) for r in rounds if r[1] == "off"]
on = [float(r[2]) for r in rounds if r[1] == "on"]
mo, mn = statistics.median(off), statistics.median(on)
hz, dur = 100.0, float(sys.argv[4])
sink_cpu = statistics.median(float(r[6]) / hz / dur for r in rounds if r[1] == "on")
exp_cpu = statistics.median(float(r[7]) / hz / dur for r in rounds if r[1] == "on")
exported = m("tensor_wasm_trace_spans_exported_total")
dropped = {k: m('tensor_wasm_trace_spans_dropped_total{reason="%s"}' % k)
           for k in ("ring_full", "export_failed", "out_of_memory")}
print("test trace/invoke_add/export_off ... bench: %10.0f req/s (median of %d)" % (mo, len(off)))
print("test trace/invoke_add/export_on ... bench: %10.0f req/s (median of %d)" % (mn, len(on)))
print("test trace/export_overhead ... ratio: %.3f (%.1f%% lower with export)" %
      (mn / mo, 100 * (1 - mn / mo)))
print("test trace/spans ... exported %d, dropped %s" % (exported, dropped))
print("test trace/cpu ... exporter thread %.1f%% of a core, local receiver %.1f%% of a core "
      "(medians over the export-on rounds; the machine has 2)" % (100 * exp_cpu, 100 * sink_cpu))
json.dump({"duration_s": float(sys.argv[4]), "connections": int(sys.argv[5]),
           "workers": int(sys.argv[6]), "rounds": rounds, "median_off_rps": mo,
           "median_on_rps": mn, "ratio": mn / mo, "spans_exported": exported,
           "spans_dropped": dropped, "exporter_core_share": exp_cpu,
           "receiver_core_share": sink_cpu}, open(sys.argv[3], "w"), indent=1)
PY
