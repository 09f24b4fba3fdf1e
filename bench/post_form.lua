-- wrk script (make bench): POST the ~2 KB urlencoded checkout form in form_body.txt.
-- Body folder from $BENCH_FILES (default: bench), Host from $BENCH_HOST.
local f = assert(io.open((os.getenv("BENCH_FILES") or "bench") .. "/form_body.txt", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path   = "/checkout?step=2"
wrk.headers["Host"]         = os.getenv("BENCH_HOST") or "localhost"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["User-Agent"]   = "Mozilla/5.0 (X11; Linux x86_64) wrk"
wrk.headers["Accept"]       = "text/html"
