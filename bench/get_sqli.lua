-- wrk script (make bench): SQL injection GET /?q=1' or 1=1-- (url-encoded); CRS PL1 blocks it (403).
wrk.method = "GET"
wrk.path   = "/?q=1%27%20or%201%3D1--"
wrk.headers["Host"]       = os.getenv("BENCH_HOST") or "localhost"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) wrk"
wrk.headers["Accept"]     = "text/html"
