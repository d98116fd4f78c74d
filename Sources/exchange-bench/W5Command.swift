import ArgumentParser

/// `exchange-bench w5`: workload W5 alone (recovery of a replica with a long log and a snapshot);
/// see `W5Replay` for what is built and what is timed.
struct W5Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w5",
        abstract: "W5: recovery of a replica with a 10-million-entry log and a snapshot (seconds until it serves)."
    )

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    @Option(help: "Entries of the log.")
    var entries = 10_000_000

    @Option(
        help: """
            Parent of the scratch directory (a fresh exchange-bench-w5-<pid> inside it, removed at the end). \
            Default: $TMPDIR or /tmp.
            """)
    var directory: String?

    func validate() throws {
        guard entries >= 1_024 else { throw ValidationError("--entries must be at least 1024") }
    }

    func run() throws {
        Interruption.install()
        let scratch = try ScratchDirectory(purpose: "w5", parent: directory)
        defer {
            log("removing \(scratch.path)")
            scratch.remove()
        }
        let result: (built: W5Replay.Built, primary: W5Replay.Replayed, warm: W5Replay.Replayed?)
        do {
            result = try W5Replay.run(scratch: scratch.path, entries: entries)
        } catch {
            log("error: \(error)")
            throw ExitCode.failure
        }
        let lines = [("directory", "\(scratch.path) (removed at the end)")] + W5Replay.tableLines(result)
        let width = lines.map(\.0.count).max() ?? 0
        var text = "W5 recovery\n"
        for (name, value) in lines {
            text += "  " + name + String(repeating: " ", count: width - name.count) + "  " + value + "\n"
        }
        print(text, terminator: "")
        if json {
            var object = JSONObject()
            object.add("workload", "W5")
            object.add("entries", entries)
            object.add("replay_seconds", result.primary.seconds, decimals: 3)
            object.add("replay_entries_per_s", result.primary.entriesPerSecond, decimals: 0)
            object.add("replay_cold_cache", result.primary.coldCache)
            // Extra keys.
            W5Replay.addDetailJSON(result, to: &object)
            print(object.text)
        }
    }
}
