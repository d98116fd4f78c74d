/// The four order streams of workload W1 (docs/PERFORMANCE.md, /work/shared/WORKLOADS.md).
public enum W1Scenario: String, CaseIterable, Sendable {
    /// Mixed: 82% cancel/replace that moves the price, 9% new GTC limit, 6% cancel, 3% IOC;
    /// about 1,000 resting orders on about 750 levels; 1 symbol; 3 million commands.
    case a
    /// Deep: about 20,000 resting orders on about 60 levels; 60% cancels of orders deep inside
    /// levels, 30% new limits, 10% marketable orders; 2 million commands.
    case b
    /// Sweep: 30% marketable orders that sweep levels, 50% new limits, 20% cancels; 2 million.
    case c
    /// Many symbols: 10,000 symbols, uniform random access, the W1a mix; 5 million commands.
    case d

    /// The name in reports: "W1a" ... "W1d".
    public var workloadName: String { "W1" + rawValue }

    /// The number of measured commands WORKLOADS.md fixes.
    public var defaultCommandCount: Int {
        switch self {
        case .a: 3_000_000
        case .b: 2_000_000
        case .c: 2_000_000
        case .d: 5_000_000
        }
    }

    public var parameters: W1Parameters {
        switch self {
        case .a:
            W1Parameters(
                symbolCount: 1, restingTargetPerSymbol: 1_000, priceRangeTicks: 800,
                mix: W1Mix(newLimit: 9, replace: 82, cancel: 6, marketable: 3),
                marketableStyle: .immediateOrCancelLimit, cancelStyle: .anyLiveOrder,
                control: .marketableQuantity)
        case .b:
            W1Parameters(
                symbolCount: 1, restingTargetPerSymbol: 20_000, priceRangeTicks: 36,
                mix: W1Mix(newLimit: 30, replace: 0, cancel: 60, marketable: 10),
                marketableStyle: .market, cancelStyle: .insideLevel,
                control: .cancelBecomesNewLimitBelowTarget)
        case .c:
            W1Parameters(
                symbolCount: 1, restingTargetPerSymbol: 500, priceRangeTicks: 250,
                mix: W1Mix(newLimit: 50, replace: 0, cancel: 20, marketable: 30),
                marketableStyle: .sweep, cancelStyle: .anyLiveOrder,
                control: .sweepDepth)
        case .d:
            W1Parameters(
                symbolCount: 10_000, restingTargetPerSymbol: 50, priceRangeTicks: 40,
                mix: W1Mix(newLimit: 9, replace: 82, cancel: 6, marketable: 3),
                marketableStyle: .immediateOrCancelLimit, cancelStyle: .anyLiveOrder,
                control: .marketableQuantity)
        }
    }
}

/// Percentages of the measured commands by kind, as drawn (before population control).
public struct W1Mix: Sendable, Hashable {
    public var newLimit: Int
    public var replace: Int
    public var cancel: Int
    public var marketable: Int

    public init(newLimit: Int, replace: Int, cancel: Int, marketable: Int) {
        precondition(newLimit + replace + cancel + marketable == 100, "a mix is in percent and sums to 100")
        self.newLimit = newLimit
        self.replace = replace
        self.cancel = cancel
        self.marketable = marketable
    }
}

/// The kinds of measured commands a W1 generator emits.
public enum W1CommandKind: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// A passive GTC limit order (it rests).
    case newLimit = 0
    /// A cancel/replace of a live order to another price on its own side, same total quantity.
    case replace = 1
    /// A cancel of a live order.
    case cancel = 2
    /// An order that takes liquidity (IOC limit, market IOC, or a sweeping IOC limit).
    case marketable = 3

    public var description: String {
        switch self {
        case .newLimit: "new_limit"
        case .replace: "replace"
        case .cancel: "cancel"
        case .marketable: "marketable"
        }
    }
}

/// The shape of one W1 stream. Prices are integer ticks (tick size 1) around `centerPriceTicks`:
/// passive buys at `center - 1 - U[0, priceRangeTicks)`, passive sells at
/// `center + 1 + U[0, priceRangeTicks)`, so passive orders never cross each other.
public struct W1Parameters: Sendable, Hashable {
    /// How the generator takes liquidity.
    public enum MarketableStyle: Sendable, Hashable {
        /// IOC limit at the far end of the opposite side's price range; quantity U[1, 100] times
        /// a factor set by the population control.
        case immediateOrCancelLimit
        /// Market order, IOC, quantity U[1, 100].
        case market
        /// IOC limit sized from the generator's copy of the book: the full leaves of the first
        /// `r` orders in priority order plus half of the next one, limit price at the last level
        /// it reaches; `r` is set by the population control.
        case sweep
    }

    /// Which live order a cancel names.
    public enum CancelStyle: Sendable, Hashable {
        /// Uniformly random among the symbol's live orders.
        case anyLiveOrder
        /// A random level, and in it a random order from the middle half of its FIFO queue
        /// (neither near the head nor near the tail); levels of fewer than 4 orders fall back to
        /// a random live order.
        case insideLevel
    }

    /// How the resting population is held near its target (see docs/PERFORMANCE.md, W1).
    public enum PopulationControl: Sendable, Hashable {
        /// Marketable quantity factor: x3 above 102% of target, x1/4 below 98%, else x1.
        case marketableQuantity
        /// A drawn cancel becomes a new limit while the population is below its target.
        case cancelBecomesNewLimitBelowTarget
        /// Orders removed in full per sweep: 2-3 above target, 1 from 95% of target, else 0.
        case sweepDepth
    }

    public var symbolCount: Int
    /// Resting orders per symbol after the prefill, and the population control's target.
    public var restingTargetPerSymbol: Int
    public var priceRangeTicks: Int64
    public var mix: W1Mix
    public var marketableStyle: MarketableStyle
    public var cancelStyle: CancelStyle
    public var control: PopulationControl
    /// Participants (= accounts, one each). Default: 100.
    public var participantCount: Int = 100
    /// Order quantities are uniform in this range (lot size 1).
    public var quantityRange: ClosedRange<Int64> = 1...100
    /// The centre of every symbol's price range, in ticks.
    public var centerPriceTicks: Int64 = 100_000
}
