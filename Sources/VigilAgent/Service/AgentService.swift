import Logging
import ServiceLifecycle
import VigilCore

/// The running agent: feeds the engine from the transport and the clock, serves the
/// control API and (when configured) the metrics endpoint, brings the metrics up to
/// date once a second, and on graceful shutdown (SIGTERM/SIGINT through the ServiceGroup)
/// leaves the cluster before it stops.
public struct AgentService: Service {
    let runtime: AgentRuntime
    let transport: GossipTransport
    let control: ControlServer?
    let metrics: MetricsServer?
    let seeds: [Address]
    let leaveGrace: Duration
    let dataDirectory: DataDirectory?
    let logger: Logger
    /// Runs the fences and recoveries this node orders while it leads.
    let haActions: any HAActions
    /// How often the member list is saved for rejoining after a restart.
    let snapshotInterval: Duration
    /// Longest the timer loop sleeps when the engine wants nothing sooner: the
    /// transport counters and the member snapshot are looked at this often.
    static let housekeepingInterval: Duration = .seconds(1)

    public init(
        runtime: AgentRuntime, transport: GossipTransport, control: ControlServer?, metrics: MetricsServer? = nil,
        seeds: [Address], leaveGrace: Duration, dataDirectory: DataDirectory? = nil,
        snapshotInterval: Duration = .seconds(10), haActions: any HAActions = UnconfiguredHA(), logger: Logger
    ) {
        self.haActions = haActions
        self.metrics = metrics
        self.snapshotInterval = snapshotInterval
        self.runtime = runtime
        self.transport = transport
        self.control = control
        self.seeds = seeds
        self.leaveGrace = leaveGrace
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    /// The engine's timers, the counters once a second and the member snapshot.
    ///
    /// Isolated to the runtime, so on its event loop: a timer that fires, the tick and
    /// the housekeeping cost no hop to another thread. Only writing the snapshot leaves
    /// the loop (it is file I/O that may wait on the disk).
    private func runTimers(on runtime: isolated AgentRuntime) async throws {
        var lastCounters = ContinuousClock.now
        var lastSnapshot = ContinuousClock.now
        var savedOnce = false
        var saved: [SnapshotMember] = []
        while !Task.isCancelled {
            // Sleeps until the engine's next deadline (woken early when a packet
            // brings it forward), not on a fixed short tick: an idle agent wakes a
            // few times a second, not a hundred.
            await runtime.waitForWake(atMost: Self.housekeepingInterval)
            try Task.checkCancellation()
            runtime.tickIfDue()
            if ContinuousClock.now - lastCounters > .seconds(1) {
                lastCounters = ContinuousClock.now
                runtime.record(transport: self.transport.stats)
            }
            // Saved every snapshot interval, and as soon as the first member is
            // known: a node restarted moments after it joined still finds them.
            guard let directory = self.dataDirectory else { continue }
            let firstMembers = !savedOnce && !runtime.snapshot().isEmpty
            if firstMembers || ContinuousClock.now - lastSnapshot > self.snapshotInterval {
                lastSnapshot = ContinuousClock.now
                // The same members as last time: the file already says so (an idle
                // cluster would otherwise encode and fsync it every interval).
                let members = runtime.snapshot()
                guard !savedOnce || members != saved else { continue }
                savedOnce = true
                if await Self.save(members, to: directory, logger: self.logger) {
                    saved = members
                }
            }
        }
    }

    /// Off the event loop (a nonisolated async function runs on the global executor).
    /// Returns whether the snapshot was written.
    private static func save(_ members: [SnapshotMember], to directory: DataDirectory, logger: Logger) async -> Bool {
        do {
            try directory.saveSnapshot(members)
            return true
        } catch {
            logger.warning("snapshot.save-failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    public func run() async throws {
        // From here on every packet goes straight to the engine, on the loop that read
        // it, before the join goes out: a seed's answer can never arrive unheard. (One
        // that opened before is left in `transport.events`, as lost as one the network
        // dropped; before the join, only a stray packet can.)
        self.transport.deliver(to: self.runtime.deliver)
        await self.runtime.start(joining: self.seeds)
        SystemdNotifier.notify("READY=1", logger: self.logger)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.runTimers(on: self.runtime)
            }
            group.addTask {
                // The leader's fences and recoveries: one child task each, so a BMC
                // that hangs (until its driver's timeout) holds up nothing else.
                await withDiscardingTaskGroup { actions in
                    for await order in self.runtime.haOrders {
                        actions.addTask {
                            switch order {
                            case .fence(let fence):
                                let result = await self.haActions.fence(fence)
                                await self.runtime.fenceCompleted(fence, confirmed: result.confirmed, detail: result.detail)
                            case .recover(let recovery):
                                let result = await self.haActions.recover(recovery)
                                await self.runtime.recoveryCompleted(
                                    recovery, succeeded: result.succeeded, detail: result.detail)
                            }
                        }
                    }
                }
            }
            group.addTask {
                // One child task per sync so a slow peer never holds up the others.
                await withDiscardingTaskGroup { streams in
                    for await (packet, address) in self.runtime.outgoingStreams {
                        streams.addTask { await self.transport.stream(packet, to: address) }
                    }
                }
            }
            if let control = self.control {
                group.addTask {
                    do {
                        try await control.run()
                    } catch {
                        // Say it now, not at shutdown: without its socket the node
                        // still watches its peers, but no operator command reaches it.
                        self.logger.error("control.failed", metadata: ["error": "\(error)"])
                        throw error
                    }
                }
            }
            if let metrics = self.metrics {
                group.addTask {
                    do {
                        try await metrics.run()
                    } catch {
                        // The node works on without it; say so at once.
                        self.logger.error("metrics.failed", metadata: ["error": "\(error)"])
                        throw error
                    }
                }
            }
            // Until SIGTERM/SIGINT or `vigil leave`: then leave gracefully, give the
            // departure time to spread, and stop everything.
            await withTaskGroup(of: Void.self) { waiters in
                waiters.addTask { try? await gracefulShutdown() }
                waiters.addTask { for await _ in self.runtime.leaveRequested { return } }
                await waiters.next()
                waiters.cancelAll()
            }
            SystemdNotifier.notify("STOPPING=1", logger: self.logger)
            // The members as they are now, before leaving: the restart rejoins through them.
            if let directory = self.dataDirectory {
                do {
                    try directory.saveSnapshot(await self.runtime.snapshot())
                } catch {
                    self.logger.warning("snapshot.save-failed", metadata: ["error": "\(error)"])
                }
            }
            await self.runtime.leave()
            try? await Task.sleep(for: self.leaveGrace)
            group.cancelAll()
            while let result = await group.nextResult() {
                if case .failure(let error) = result, !(error is CancellationError) {
                    self.logger.error("agent.part-failed", metadata: ["error": "\(error)"])
                }
            }
            await self.transport.close()
        }
    }
}
