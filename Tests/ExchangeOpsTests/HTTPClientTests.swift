import ExchangeOps
import Testing

@Suite struct HTTPClientTests {
    @Test func getReturnsBodyAndStatus() async throws {
        let server = try await FakeHTTPServer.start { method, uri in
            .text("hello \(method) \(uri)")
        }
        let response = try await OpsHTTPClient.get(
            host: "127.0.0.1", port: server.port, path: "/healthz?x=1", timeout: .seconds(5))
        await server.stop()
        #expect(response.status == 200)
        #expect(response.text == "hello GET /healthz?x=1")
        #expect(response.headers["content-type"] == "text/plain")
    }

    @Test func postSendsPost() async throws {
        let server = try await FakeHTTPServer.start { method, _ in
            method == "POST" ? .json(#"{"shardID":4,"from":1,"to":2}"#) : .json("{}", status: 405)
        }
        let started = try await ShardEndpoints.transferLeader(
            host: "127.0.0.1", port: server.port, shard: 4, to: 2, timeout: .seconds(5))
        let requests = server.requests.withLock { $0 }
        await server.stop()
        #expect(started == TransferStarted(shardID: 4, from: 1, to: 2))
        #expect(requests == ["POST /shards/4/transfer-leader?to=2"])
    }

    @Test func notFoundCarriesTheBody() async throws {
        let server = try await FakeHTTPServer.start { _, _ in
            .json(#"{"error":"unknown_shard","message":"no shard 9"}"#, status: 404)
        }
        await #expect {
            _ = try await OpsHTTPClient.get(host: "127.0.0.1", port: server.port, path: "/x", timeout: .seconds(5))
        } throws: { error in
            guard let error = error as? OpsError else { return false }
            return error.code == .badStatus && error.httpStatus == 404 && error.body?.contains("no shard 9") == true
        }
        // The typed endpoint maps 404 to unknownShard.
        await #expect {
            _ = try await ShardEndpoints.fetchState(
                host: "127.0.0.1", port: server.port, shard: 9, timeout: .seconds(5))
        } throws: { error in
            (error as? OpsError)?.code == .unknownShard
        }
        await server.stop()
    }

    @Test func refusedConnection() async throws {
        let server = try await FakeHTTPServer.start { _, _ in .text("") }
        let port = server.port
        await server.stop()
        await #expect {
            _ = try await OpsHTTPClient.get(host: "127.0.0.1", port: port, path: "/", timeout: .seconds(5))
        } throws: { error in
            (error as? OpsError)?.code == .connectionRefused
        }
    }

    @Test func timeoutWhenTheServerNeverAnswers() async throws {
        let server = try await FakeHTTPServer.start { _, _ in .hanging }
        await #expect {
            _ = try await OpsHTTPClient.get(
                host: "127.0.0.1", port: server.port, path: "/", timeout: .milliseconds(200))
        } throws: { error in
            (error as? OpsError)?.code == .timeout
        }
        await server.stop()
    }

    @Test func transferRefusalsAreTyped() async throws {
        let server = try await FakeHTTPServer.start { _, _ in
            .json(#"{"error":"not_leader","leaderID":3}"#, status: 409)
        }
        await #expect {
            _ = try await ShardEndpoints.transferLeader(
                host: "127.0.0.1", port: server.port, shard: 1, to: 2, timeout: .seconds(5))
        } throws: { error in
            guard let error = error as? OpsError else { return false }
            return error.code == .transferRefused && error.httpStatus == 409
                && error.body?.contains("not_leader") == true
        }
        await server.stop()
    }

    @Test func auditPageParsing() throws {
        let page = try AuditPage.parse(
            "# audit shard=2 applied=90 next=-\n5\t0\tnew\taccepted\t0\t7\t100\t1\n9\t65535\tsnapshot\t-\t0\t0\t0\t0\n")
        #expect(page.shardID == 2)
        #expect(page.appliedIndex == 90)
        #expect(page.next == nil)
        #expect(page.records == [Fixture.accepted(5, client: 100, order: 1), AuditEntry.snapshot(at: 9)])
        let next = try AuditPage.parse("# audit shard=2 applied=90 next=44\n")
        #expect(next.next == 44)
        #expect(throws: OpsError.self) { try AuditPage.parse("5\t0\tnew\taccepted\t0\t7\t100\t1\n") }
        #expect(throws: OpsError.self) {
            try AuditPage.parse("# audit shard=2 applied=90 next=-\n5\t0\tnew\tok\t0\t7\t1\t1")
        }
        #expect(throws: OpsError.self) {
            try AuditPage.parse("# audit shard=2 applied=90 next=-\n5\t0\tnew\taccepted\t0\t7\t1")
        }
    }
}
