-- api_invoke.lua — wrk script: POST an add(i32,i32) invoke; the function id comes from the
-- environment (TW_FUNCTION_ID), set by bench/api_invoke.sh.
wrk.method = "POST"
wrk.body = '{"export":"add","args":[2,3]}'
wrk.headers["Content-Type"] = "application/json"
wrk.path = "/functions/" .. os.getenv("TW_FUNCTION_ID") .. "/invoke"

done = function(summary, latency, requests)
  io.write(string.format("LUA p50_us=%d p99_us=%d\n", latency:percentile(50),
                         latency:percentile(99)))
end
