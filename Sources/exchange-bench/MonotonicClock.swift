@preconcurrency import Glibc

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds: the clock of every measurement here.
enum MonotonicClock {
    @inline(__always)
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Median cost of one back-to-back pair of clock reads, in nanoseconds: the floor under every
    /// per-command latency figure.
    static func pairOverheadNanoseconds(samples: Int = 100_001) -> UInt64 {
        var deltas: [UInt64] = []
        deltas.reserveCapacity(samples)
        for _ in 0..<samples {
            let start = nanoseconds()
            let end = nanoseconds()
            deltas.append(end &- start)
        }
        deltas.sort()
        return deltas[samples / 2]
    }
}

/// Bytes the C heap holds for the program, from glibc's `mallinfo2()`: `uordblks` (in use from
/// the arenas) plus `hblkhd` (in use in chunks of their own, mmapped).
///
/// `<malloc.h>` is not part of Swift's Glibc module, and this target may not add a C shim, so
/// the function is looked up with `dlsym` and called through its x86-64 System V ABI: a
/// function returning a struct of 80 bytes (class MEMORY) takes the address of the result in
/// the first argument register and returns it. Elsewhere the figure is unavailable (`nil`).
enum HeapUsage {
    /// `struct mallinfo2`: ten `size_t` fields, in this order.
    private struct MallocInfo2 {
        var arena = 0, ordblks = 0, smblks = 0, hblks = 0, hblkhd = 0
        var usmblks = 0, fsmblks = 0, uordblks = 0, fordblks = 0, keepcost = 0
    }

    private typealias MallInfo2Function = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer?

    static func bytesInUse() -> Int? {
        #if arch(x86_64)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallinfo2") else { return nil }
            let function = unsafeBitCast(symbol, to: MallInfo2Function.self)
            var info = MallocInfo2()
            withUnsafeMutableBytes(of: &info) { _ = function($0.baseAddress!) }
            return info.uordblks + info.hblkhd
        #else
            return nil
        #endif
    }
}

/// Progress and diagnostics on standard error, so that standard output ends with the JSON line.
func log(_ message: String) {
    fputs(message + "\n", stderr)
}
