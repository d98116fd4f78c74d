// Entry point: `exchange-bench <workload> [options] [--json]`. See ExchangeBench.swift.
ExchangeBench.main()
