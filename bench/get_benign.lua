-- wrk script (make bench): benign GET with a few headers.
-- Host comes from $BENCH_HOST (bench.py sets bench.localhost for edgewaf, localhost for the peer).
wrk.method = "GET"
wrk.path   = "/index.html?a=1&b=hello"
wrk.headers["Host"]       = os.getenv("BENCH_HOST") or "localhost"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) wrk"
wrk.headers["Accept"]     = "text/html"
