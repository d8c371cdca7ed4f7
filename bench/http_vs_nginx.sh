#!/usr/bin/env bash
# http_vs_nginx.sh — side-by-side HTTP/1.1 figures for tensor-wasm serve and nginx.
#
# Both servers run one worker pinned to CPU $SERVER_CPU; wrk runs pinned to CPU $CLIENT_CPU.
# For each server: non-pipelined `wrk -t1 -c64 -d${DURATION}s` on /healthz (requests/s, p50,
# p99, server CPU time per request from /proc/PID/stat utime+stime) and the same with 16
# requests pipelined per write (a wrk Lua script). Prints one table.
#
#   bench/http_vs_nginx.sh                      # 10 s per run, ~1 minute in all
#   DURATION=5 bench/http_vs_nginx.sh
#
# Needs: build/tensor-wasm (ninja), nginx (/usr/sbin/nginx), wrk, taskset.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TW_BINARY:-$ROOT/build/tensor-wasm}
NGINX=${NGINX:-/usr/sbin/nginx}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
TW_PORT=${TW_PORT:-18182}
NGX_PORT=${NGX_PORT:-18181}
TICK=$(getconf CLK_TCK)

for tool in wrk taskset "$NGINX" "$BIN"; do
	command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/tw-bench-http.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/pipeline.lua" <<'LUA'
-- 16 GET /healthz requests in one write; wrk counts each response.
init = function(args)
	local r = {}
	for i = 1, 16 do
		r[i] = wrk.format(nil, "/healthz")
	end
	req = table.concat(r)
end
request = function()
	return req
end
LUA

mkdir -p "$WORK/ngx"
cat >"$WORK/ngx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
master_process on;
error_log $WORK/ngx/error.log;
pid $WORK/ngx/nginx.pid;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $WORK/ngx/body;
	proxy_temp_path $WORK/ngx/proxy;
	fastcgi_temp_path $WORK/ngx/fastcgi;
	uwsgi_temp_path $WORK/ngx/uwsgi;
	scgi_temp_path $WORK/ngx/scgi;
	server {
		listen 127.0.0.1:$NGX_PORT reuseport;
		location / { return 200 "ok"; }
	}
}
NGX

# CPU ticks (utime + stime) of a process and its children threads/processes.
cpu_ticks() {
	local total=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		# Fields after the ")" of the command name: utime is 14, stime 15 overall.
		local rest
		rest=$(sed 's/^.*) //' "/proc/$p/stat")
		set -- $rest
		total=$((total + ${12} + ${13}))
	done
	echo "$total"
}

wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "server on port $1 did not start" >&2
	exit 1
}

# run_wrk NAME URL PIDS... [-- extra wrk args]; prints "rps p50 p99 cpu_us_per_req"
run_wrk() {
	local url=$1 script=$2
	shift 2
	local pids=("$@")
	local args=(-t1 -c"$CONNS" -d"${DURATION}s" --latency)
	[ -n "$script" ] && args+=(-s "$script")
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s ${script:+-s "$script"} "$url" >/dev/null
	local t0 t1
	t0=$(cpu_ticks "${pids[@]}")
	taskset -c "$CLIENT_CPU" wrk "${args[@]}" "$url" >"$WORK/wrk.out"
	t1=$(cpu_ticks "${pids[@]}")
	local rps p50 p99 reqs
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.out")
	p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.out")
	p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
	reqs=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
	local cpu
	cpu=$(awk -v d=$((t1 - t0)) -v t="$TICK" -v n="$reqs" 'BEGIN {printf "%.2f", d / t * 1e6 / n}')
	echo "$rps $p50 $p99 $cpu"
}

declare -A R
bench_server() {
	local name=$1 port=$2
	shift 2
	local pids=("$@")
	read -r R[$name.rps] R[$name.p50] R[$name.p99] R[$name.cpu] \
		< <(run_wrk "http://127.0.0.1:$port/healthz" "" "${pids[@]}")
	read -r R[$name.prps] R[$name.pp50] R[$name.pp99] R[$name.pcpu] \
		< <(run_wrk "http://127.0.0.1:$port/healthz" "$WORK/pipeline.lua" "${pids[@]}")
}

# nginx: master + one worker, all pinned to SERVER_CPU.
taskset -c "$SERVER_CPU" "$NGINX" -p "$WORK/ngx" -c "$WORK/ngx/nginx.conf" -e "$WORK/ngx/error.log" &
PIDS+=($!)
wait_port "$NGX_PORT"
sleep 0.2
NGX_ALL=("${PIDS[0]}" $(pgrep -P "${PIDS[0]}" || true))
bench_server nginx "$NGX_PORT" "${NGX_ALL[@]}"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true

TENSOR_WASM_LOG=warn taskset -c "$SERVER_CPU" "$BIN" serve --listen "127.0.0.1:$TW_PORT" --workers 1 &
PIDS+=($!)
wait_port "$TW_PORT"
bench_server tw "$TW_PORT" "${PIDS[1]}"
kill -TERM "${PIDS[1]}"; wait "${PIDS[1]}" 2>/dev/null || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2fx", a / b }'; }

echo
echo "HTTP server vs nginx: ${DURATION}s per run, $CONNS connections, server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU"
printf "%-34s %14s %14s %10s\n" "" "nginx" "tensor-wasm" "tw/nginx"
printf "%-34s %14s %14s %10s\n" "non-pipelined req/s" "${R[nginx.rps]}" "${R[tw.rps]}" "$(ratio "${R[tw.rps]}" "${R[nginx.rps]}")"
printf "%-34s %14s %14s %10s\n" "non-pipelined p50" "${R[nginx.p50]}" "${R[tw.p50]}" ""
printf "%-34s %14s %14s %10s\n" "non-pipelined p99" "${R[nginx.p99]}" "${R[tw.p99]}" ""
printf "%-34s %14s %14s %10s\n" "non-pipelined server CPU us/req" "${R[nginx.cpu]}" "${R[tw.cpu]}" "$(ratio "${R[tw.cpu]}" "${R[nginx.cpu]}")"
printf "%-34s %14s %14s %10s\n" "pipelined x16 req/s" "${R[nginx.prps]}" "${R[tw.prps]}" "$(ratio "${R[tw.prps]}" "${R[nginx.prps]}")"
printf "%-34s %14s %14s %10s\n" "pipelined x16 p99" "${R[nginx.pp99]}" "${R[tw.pp99]}" ""
printf "%-34s %14s %14s %10s\n" "pipelined x16 server CPU us/req" "${R[nginx.pcpu]}" "${R[tw.pcpu]}" "$(ratio "${R[tw.pcpu]}" "${R[nginx.pcpu]}")"
