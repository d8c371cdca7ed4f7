#!/bin/sh
# make_corpus.sh — regenerate the fuzzers' seed corpora from the WebAssembly spec suite.
#
#   tests/fuzz/make_corpus.sh [SPEC_DIR]     (default: $TW_SPEC_DIR or ../shared/wasm-spec-testsuite)
#
# Converts a fixed list of .wast files with wast2json into a temporary folder and copies a
# deterministic selection of the resulting .wasm files, named by their SHA-1 as libFuzzer names
# its own finds, into tests/fuzz/corpus/wasm_decode/ (valid, malformed and invalid modules) and
# tests/fuzz/corpus/wasm_run/ (valid modules that export functions). The seeds are committed so
# the fuzz smoke test needs neither the suite nor wabt; rerun this after a suite update.
set -eu
cd "$(dirname "$0")/../.."
spec=${1:-${TW_SPEC_DIR:-../shared/wasm-spec-testsuite}}
command -v wast2json >/dev/null || { echo "make_corpus.sh: wast2json (wabt) is needed" >&2; exit 1; }
[ -d "$spec" ] || { echo "make_corpus.sh: no spec suite at $spec" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files="binary binary-leb128 custom data elem names global memory table func imports exports
start type block loop if br_table call_indirect conversions float_exprs int_exprs i32 i64 f32
f64 memory_grow memory_copy memory_fill memory_init bulk table_copy table_init ref_func select
unreached-invalid unreached-valid utf8-invalid-encoding fac stack traps align address left-to-right
local_tee return switch nop"
for f in $files; do
	[ -f "$spec/$f.wast" ] || continue
	mkdir -p "$tmp/$f"
	wast2json "$spec/$f.wast" -o "$tmp/$f/$f.json" 2>/dev/null || true
done
python3 - "$tmp" <<'PY'
import hashlib, json, os, shutil, sys
tmp = sys.argv[1]
out = {"wasm_decode": "tests/fuzz/corpus/wasm_decode", "wasm_run": "tests/fuzz/corpus/wasm_run"}
for d in out.values():
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
MAX_BYTES = 16384
PER_FILE = {"wasm_decode": 2, "wasm_run": 1}
TOTAL = {"wasm_decode": 60, "wasm_run": 45}
counts = {k: 0 for k in out}
for name in sorted(os.listdir(tmp)):
    path = os.path.join(tmp, name, name + ".json")
    if not os.path.exists(path):
        continue
    cmds = json.load(open(path))["commands"]
    taken = {"wasm_decode": 0, "wasm_run": 0}
    kinds = set()
    for c in cmds:
        fn = c.get("filename", "")
        if not fn.endswith(".wasm"):
            continue
        data = open(os.path.join(tmp, name, fn), "rb").read()
        if len(data) > MAX_BYTES:
            continue
        targets = []
        # Decode seeds: one of each kind of command per file, for variety.
        if c["type"] not in kinds and taken["wasm_decode"] < PER_FILE["wasm_decode"]:
            targets.append("wasm_decode")
            kinds.add(c["type"])
        if c["type"] == "module" and taken["wasm_run"] < PER_FILE["wasm_run"] and b"\x07" in data:
            targets.append("wasm_run")
        for t in [t for t in targets if counts[t] < TOTAL[t]]:
            h = hashlib.sha1(data).hexdigest()
            dst = os.path.join(out[t], h)
            if not os.path.exists(dst):
                open(dst, "wb").write(data)
                taken[t] += 1
                counts[t] += 1
for t, n in counts.items():
    print("make_corpus.sh: %d seeds in %s" % (n, out[t]))
PY
