import Glibc
import Testing

@testable import Systemd

/// One test, because it changes the process environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`).
@Suite(.serialized) struct SystemdNotifierTests {
    @Test func notificationsReachTheSocketAndAreNoOpsWithoutIt() throws {
        let notifier = SystemdNotifier()
        unsetenv("NOTIFY_SOCKET")
        #expect(!notifier.isEnabled)
        #expect(try notifier.ready() == false)

        // A datagram socket standing in for systemd's.
        let path = "/tmp/systemd-notify-test-\(getpid())"
        unlink(path)
        let socketDescriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #expect(socketDescriptor >= 0)
        defer {
            close(socketDescriptor)
            unlink(path)
            unsetenv("NOTIFY_SOCKET")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (position, byte) in path.utf8.enumerated() { raw[position] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)
        setenv("NOTIFY_SOCKET", path, 1)
        #expect(notifier.isEnabled)

        func receive() -> String {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(socketDescriptor, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : "<recv failed>"
        }
        #expect(try notifier.ready(status: "serving 2 shards\nleader of 1"))
        #expect(receive() == "READY=1\nSTATUS=serving 2 shards leader of 1")
        #expect(try notifier.watchdog())
        #expect(receive() == "WATCHDOG=1")
        #expect(try notifier.stopping(status: "draining"))
        #expect(receive() == "STOPPING=1\nSTATUS=draining")

        // The socket disappears: a typed error, not a crash.
        setenv("NOTIFY_SOCKET", path + "-gone", 1)
        #expect(throws: SystemdError.self) { try notifier.status("x") }

        // The watchdog interval comes from WATCHDOG_USEC when WATCHDOG_PID is ours (or unset).
        setenv("WATCHDOG_USEC", "2000000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        #expect(notifier.watchdogInterval == .seconds(2))
        setenv("WATCHDOG_PID", "1", 1)
        #expect(notifier.watchdogInterval == nil)
        unsetenv("WATCHDOG_USEC")
        unsetenv("WATCHDOG_PID")
        #expect(notifier.watchdogInterval == nil)
    }
}
