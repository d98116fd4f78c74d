@preconcurrency import Glibc

/// The physical baselines of W2 (WORKLOADS.md), measured in the same run as the workload.
enum Baselines {
    /// Median of one fsync of a 4 KiB append on the disk holding `directory`
    /// (`pwrite` at the end of a scratch file, then `fdatasync`), over `samples` rounds.
    static func fsyncAppendMedianNanoseconds(directory: String, samples: Int = 400) throws -> UInt64 {
        let measured = try StorageMeasurements.singleSyncSamples(
            directory: directory + "/fsync-baseline", samples: samples, groups: 0)
        return median(measured.fsyncAppend)
    }

    /// Median of one TCP round trip on loopback: a 64-byte message to an echoing thread and back,
    /// `TCP_NODELAY` on both ends, over `samples` round trips (after a warm-up).
    static func loopbackRoundTripMedianNanoseconds(samples: Int = 20_000) throws -> UInt64 {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ExitCodeError(message: "socket: \(String(cString: strerror(errno)))") }
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 1) == 0 else {
            throw ExitCodeError(message: "bind/listen: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let rounds = samples + 1_000
        // The echo side, on its own thread.
        final class EchoContext: @unchecked Sendable {
            // @unchecked: `listener` and `rounds` are set before the thread starts and only read after.
            let listener: Int32
            let rounds: Int
            init(listener: Int32, rounds: Int) {
                self.listener = listener
                self.rounds = rounds
            }
        }
        let context = Unmanaged.passRetained(EchoContext(listener: listener, rounds: rounds)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { raw in
                let context = Unmanaged<EchoContext>.fromOpaque(raw!).takeRetainedValue()
                let connection = accept(context.listener, nil, nil)
                guard connection >= 0 else { return nil }
                var one: Int32 = 1
                setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                var buffer = [UInt8](repeating: 0, count: 64)
                for _ in 0..<context.rounds {
                    guard Baselines.readFully(connection, &buffer), Baselines.writeFully(connection, buffer) else { break }
                }
                close(connection)
                return nil
            }, context)
        guard created == 0 else { throw ExitCodeError(message: "pthread_create: \(created)") }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw ExitCodeError(message: "connect: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let message = [UInt8](repeating: 0x42, count: 64)
        var reply = [UInt8](repeating: 0, count: 64)
        var times: [UInt64] = []
        times.reserveCapacity(samples)
        for round in 0..<rounds {
            let start = MonotonicClock.nanoseconds()
            guard writeFully(client, message), readFully(client, &reply) else {
                throw ExitCodeError(message: "loopback round trip failed: \(String(cString: strerror(errno)))")
            }
            if round >= 1_000 { times.append(MonotonicClock.nanoseconds() - start) }
        }
        pthread_join(thread, nil)
        return median(times)
    }

    static func median(_ values: [UInt64]) -> UInt64 {
        guard !values.isEmpty else { return 0 }
        return values.sorted()[values.count / 2]
    }

    static func readFully(_ descriptor: Int32, _ buffer: inout [UInt8]) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }

    static func writeFully(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }
}
