// Entry point: `exchange-sim --seeds N [--from S] [--seed S] [--json]`. See ExchangeSim.swift.
ExchangeSim.main()
