import ArgumentParser

/// `exchange-bench storage`: the write-ahead log on the real disk (`WriteAheadLog` on
/// `POSIXFileSystem`), against the physical baseline measured in the same run and directory.
///
/// Each of `--runs` runs, in this order: single-sync latencies taken in turns, so that all see the
/// same disk conditions (the bare-`fdatasync` baseline: 4 KiB appended to a scratch file, then
/// `fdatasync`; the same into a preallocated file; one WAL batch of one entry, `append` + `sync`;
/// every fourth turn also a round over 4 logs: one entry each, then one `WriteAheadLog.syncAll`),
/// then appends in batches of 1, 64 and 1,024 entries of 128 bytes with one `sync` per batch, each
/// through a fresh log (one preallocated segment, so no rotation inside the timed loop at the
/// default sizes). Latency figures pool the samples of all runs; rates are the median run. Then W5
/// (`W5Replay`) once, in the same directory.
struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Storage: WAL appends per second with one fdatasync per batch (1, 64, 1024), "
            + "fsync baseline, multi-group sync, and W5 replay."
    )

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    @Option(
        help: """
            Parent of the scratch directory (a fresh exchange-bench-storage-<pid> inside it, removed at the \
            end). Default: $TMPDIR or /tmp.
            """)
    var directory: String?

    @Option(
        help: """
            Records per run with batches of 1024 (256 syncs by default). Batches of 64 use records/16; \
            batches of 1 and each single-sync latency records/256 syncs per run, the 4-group rounds \
            records/1024.
            """)
    var records = 262_144

    @Option(help: "Runs; rates are the median run, latencies pool the samples of all runs.")
    var runs = 3

    @Option(help: "Entries of the W5 log (0 skips W5).")
    var replayEntries = 10_000_000

    static let batchSizes = [1, 64, 1024]
    static let groups = 4

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard records >= 16_384 else { throw ValidationError("--records must be at least 16384") }
        guard replayEntries == 0 || replayEntries >= 1_024 else {
            throw ValidationError("--replay-entries must be 0 or at least 1024")
        }
    }

    func run() throws {
        Interruption.install()
        let scratch = try ScratchDirectory(purpose: "storage", parent: directory)
        defer {
            log("removing \(scratch.path)")
            scratch.remove()
        }
        log("storage: scratch directory \(scratch.path)")
        do {
            try measure(in: scratch.path)
        } catch let error as ExitCode {
            throw error
        } catch {
            log("error: \(error)")
            throw ExitCode.failure
        }
    }

    private func measure(in scratch: String) throws {
        let singleSyncs = records / 256
        var baseline: [UInt64] = []
        var overwrite: [UInt64] = []
        var batch1Latencies: [UInt64] = []
        var multiGroup: [UInt64] = []
        var appendRuns: [Int: [StorageMeasurements.AppendRun]] = [:]
        for run in 0..<runs {
            log("run \(run + 1)/\(runs)")
            let single = try StorageMeasurements.singleSyncSamples(
                directory: scratch + "/single", samples: singleSyncs, groups: Self.groups)
            baseline += single.fsyncAppend
            overwrite += single.fsyncOverwrite
            batch1Latencies += single.walBatchOfOne
            multiGroup += single.groupRounds
            log(
                "  single syncs, p50: fsync append "
                    + "\(grouped(Int(Percentiles.value(single.fsyncAppend.sorted(), 50)))) ns, "
                    + "fsync overwrite \(grouped(Int(Percentiles.value(single.fsyncOverwrite.sorted(), 50)))) ns, "
                    + "WAL batch of 1 \(grouped(Int(Percentiles.value(single.walBatchOfOne.sorted(), 50)))) ns")
            for batch in Self.batchSizes {
                let appendRun = try StorageMeasurements.appendRun(
                    directory: scratch + "/wal-\(batch)", batch: batch,
                    records: batch == 1 ? singleSyncs : batch == 64 ? records / 16 : records)
                appendRuns[batch, default: []].append(appendRun)
                log(
                    "  batch \(batch): \(grouped(Int(appendRun.recordsPerSecond.rounded()))) records/s, "
                        + "\(fixed(appendRun.megabytesPerSecond, decimals: 2)) MB/s, \(appendRun.syncs) syncs")
            }
        }
        baseline.sort()
        overwrite.sort()
        batch1Latencies.sort()
        multiGroup.sort()

        var replay: (built: W5Replay.Built, primary: W5Replay.Replayed, warm: W5Replay.Replayed?)?
        if replayEntries > 0 {
            replay = try W5Replay.run(scratch: scratch, entries: replayEntries)
        }

        // Median run per batch size (by records per second).
        var medianRate: [Int: Double] = [:]
        var medianMegabytes: [Int: Double] = [:]
        for batch in Self.batchSizes {
            let runsOfBatch = appendRuns[batch]!
            medianRate[batch] = Percentiles.median(runsOfBatch.map(\.recordsPerSecond))
            medianMegabytes[batch] = Percentiles.median(runsOfBatch.map(\.megabytesPerSecond))
        }
        let fsyncP50 = Percentiles.value(baseline, 50)
        let fsyncP99 = Percentiles.value(baseline, 99)
        let batch1P50 = Percentiles.value(batch1Latencies, 50)
        let batch1P99 = Percentiles.value(batch1Latencies, 99)
        let groupsP50 = Percentiles.value(multiGroup, 50)
        let groupsP99 = Percentiles.value(multiGroup, 99)
        let overwriteP50 = Percentiles.value(overwrite, 50)
        let overwriteP99 = Percentiles.value(overwrite, 99)
        let ratio = Double(batch1P50) / Double(fsyncP50)
        let overwriteRatio = Double(batch1P50) / Double(overwriteP50)
        let groupsRatio = Double(groupsP50) / Double(fsyncP50)
        let groupsOverwriteRatio = Double(groupsP50) / Double(overwriteP50)
        let recordBytes = 28 + StorageMeasurements.payloadBytes

        var lines: [(String, String)] = [
            ("directory", "\(scratch) (removed at the end)"),
            (
                "records",
                "\(StorageMeasurements.payloadBytes)-byte payloads (\(recordBytes) bytes on disk each, plus a 52-byte "
                    + "hard-state record per batch), default 64 MiB preallocated segments"
            ),
        ]
        for batch in Self.batchSizes {
            let runsOfBatch = appendRuns[batch]!
            lines.append(
                (
                    "append, batch \(batch)",
                    "\(grouped(Int(medianRate[batch]!.rounded()))) records/s, "
                        + "\(fixed(medianMegabytes[batch]!, decimals: 2)) MB/s of log; runs: "
                        + runsOfBatch.map { grouped(Int($0.recordsPerSecond.rounded())) }.joined(separator: "  ")
                        + " (\(runsOfBatch[0].syncs) syncs each)"
                ))
        }
        lines += [
            (
                "fsync baseline",
                "p50 \(grouped(Int(fsyncP50))) ns, p99 \(grouped(Int(fsyncP99))) ns "
                    + "(pwrite 4 KiB at end of file + fdatasync, \(baseline.count) samples)"
            ),
            (
                "fsync, preallocated",
                "p50 \(grouped(Int(overwriteP50))) ns, p99 \(grouped(Int(overwriteP99))) ns "
                    + "(pwrite 4 KiB into a preallocated file + fdatasync, data only, as the WAL)"
            ),
            (
                "WAL batch of 1",
                "p50 \(grouped(Int(batch1P50))) ns, p99 \(grouped(Int(batch1P99))) ns "
                    + "(append + sync, \(batch1Latencies.count) samples, taken in turns with the two above)"
            ),
            (
                "batch 1 / fsync",
                "\(fixed(ratio, decimals: 2))x (p50 over p50; target at most 1.2x); "
                    + "\(fixed(overwriteRatio, decimals: 2))x over the preallocated fsync"
            ),
            (
                "\(Self.groups) groups, syncAll",
                "p50 \(grouped(Int(groupsP50))) ns, p99 \(grouped(Int(groupsP99))) ns per round "
                    + "(\(fixed(groupsRatio, decimals: 2))x the fsync baseline, "
                    + "\(fixed(groupsOverwriteRatio, decimals: 2))x the preallocated fsync, \(multiGroup.count) rounds)"
            ),
        ]
        if let replay { lines += W5Replay.tableLines(replay) }
        let width = lines.map(\.0.count).max() ?? 0
        var text = "storage: WriteAheadLog on POSIXFileSystem, \(runs) runs\n"
        for (name, value) in lines {
            text += "  " + name + String(repeating: " ", count: width - name.count) + "  " + value + "\n"
        }
        print(text, terminator: "")

        if json {
            var rates = JSONObject()
            var megabytes = JSONObject()
            for batch in Self.batchSizes {
                rates.add(String(batch), medianRate[batch]!, decimals: 0)
                megabytes.add(String(batch), medianMegabytes[batch]!, decimals: 2)
            }
            var object = JSONObject()
            object.add("workload", "storage")
            object.add("append_per_s", rates)
            object.add("fsync_baseline_ns", fsyncP50)
            object.add("batch1_latency_ns", batch1P50)
            if let replay {
                object.add("replay_entries_per_s", replay.primary.entriesPerSecond, decimals: 0)
            } else {
                object.addNull("replay_entries_per_s")
            }
            // Extra keys.
            object.add("append_mb_per_s", megabytes)
            object.add("batch1_to_fsync_ratio", ratio, decimals: 3)
            object.add("fsync_baseline_p99_ns", fsyncP99)
            object.add("fsync_preallocated_ns", overwriteP50)
            object.add("fsync_preallocated_p99_ns", overwriteP99)
            object.add("batch1_to_fsync_preallocated_ratio", overwriteRatio, decimals: 3)
            object.add("batch1_latency_p99_ns", batch1P99)
            object.add("multi_group_sync_ns", groupsP50)
            object.add("multi_group_sync_p99_ns", groupsP99)
            object.add("multi_group_groups", Self.groups)
            object.add("multi_group_to_fsync_preallocated_ratio", groupsOverwriteRatio, decimals: 3)
            object.add("runs", runs)
            object.add("records", records)
            object.add("payload_bytes", StorageMeasurements.payloadBytes)
            object.add("segment_bytes", Int(64 << 20))
            if let replay {
                object.add("replay_seconds", replay.primary.seconds, decimals: 3)
                object.add("replay_cold_cache", replay.primary.coldCache)
                W5Replay.addDetailJSON(replay, to: &object)
            }
            print(object.text)
        }
    }
}
