-- wrk script (make bench): POST the ~20 KB JSON order in order.json (69 line items, ~1,000 values).
-- Body folder from $BENCH_FILES (default: bench), Host from $BENCH_HOST.
local f = assert(io.open((os.getenv("BENCH_FILES") or "bench") .. "/order.json", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path   = "/api/orders"
wrk.headers["Host"]         = os.getenv("BENCH_HOST") or "localhost"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"]   = "Mozilla/5.0 (X11; Linux x86_64) wrk"
wrk.headers["Accept"]       = "application/json"
