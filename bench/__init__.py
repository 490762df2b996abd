"""netpol-guard benchmarks: load (wrk over TLS, against references), engine, scale, balance."""
