extension AgentMetrics {
    /// Every metric the agent exports. The README's metrics table is this list.
    public static let catalog: [MetricDescription] = [
        .init("vigil_members", .gauge, labels: ["status"], "Members this node knows, itself included, by status (alive, suspect, failed, left)."),
        .init("vigil_health_score", .gauge, "Lifeguard local health score: 0 is healthy; higher stretches this node's probe timeouts and stops it voting."),
        .init("vigil_isolated", .gauge, "1 while no peer answers this node's probes (it suspects itself and does not vote), else 0."),
        .init("vigil_incarnation_life", .gauge, "This node's life: the high 32 bits of its incarnation, raised at every start."),
        .init("vigil_incarnation_refutations", .gauge, "Refutations within this life: the low 32 bits of this node's incarnation."),
        .init("vigil_probes_sent_total", .counter, "Probe rounds started: pings to an observed subject or a random member."),
        .init("vigil_probes_failed_total", .counter, "Probe rounds that ended without an ack, directly or through relays."),
        .init("vigil_indirect_probes_total", .counter, "Ping-req messages sent to relays because a direct ack was late."),
        .init("vigil_acks_received_total", .counter, "Acks received for this node's probes."),
        .init("vigil_nacks_received_total", .counter, "Nacks received from relays: the relay works, the target did not answer it."),
        .init("vigil_ping_rtt_seconds", .histogram, "Round-trip time from a probe's ping to its ack (through relays when the direct ack was late)."),
        .init("vigil_suspect_phi", .gauge, labels: ["member"], "Phi-accrual value of each member this node observes and currently suspects; the series goes away when the suspicion ends."),
        .init("vigil_suspicions_total", .counter, "Suspicions this node raised from its own failed probes (phi over the threshold)."),
        .init("vigil_members_suspected_total", .counter, "Times a member became suspect in this node's view, raised here or heard of."),
        .init("vigil_refutations_total", .counter, "Times this node refuted a suspicion of itself by raising its incarnation."),
        .init("vigil_votes_cast_total", .counter, "Failure votes this node signed."),
        .init("vigil_failures_certified_total", .counter, "Members this node marked failed on a valid failure certificate."),
        .init("vigil_messages_sent_total", .counter, "Datagrams the protocol engine sent (pings, acks, relays, gossip)."),
        .init("vigil_gossip_updates_sent_total", .counter, "Membership updates piggybacked on those datagrams."),
        .init("vigil_packets_in_total", .counter, "Packets (datagrams and stream frames) opened and handed to the engine."),
        .init("vigil_packets_out_total", .counter, "Packets sealed and written to the network."),
        .init("vigil_bytes_in_total", .counter, "Bytes received, sealed, including packets later dropped."),
        .init("vigil_bytes_out_total", .counter, "Bytes written, sealed, with stream length prefixes."),
        .init("vigil_packets_dropped_total", .counter, labels: ["reason"], "Inbound packets the transport dropped, by reason (bad_seal, replay, stale, malformed, oversize, buffer_full)."),
        .init("vigil_protocol_drops_total", .counter, labels: ["reason"], "Opened packets the engine refused, by reason (from_self, wrong_target, bad_signature, stale_sequence)."),
        .init("vigil_send_failures_total", .counter, "Outbound datagrams or frames that failed after sealing."),
        .init("vigil_stream_connect_failures_total", .counter, "Outbound sync connections that could not be made in time."),
        .init("vigil_connections_refused_total", .counter, "Inbound sync connections refused because too many were open."),
        .init("vigil_stream_timeouts_total", .counter, "Inbound sync connections closed for not sending a frame in time."),
        .init("vigil_replay_cache_evictions_total", .counter, "Nonces forgotten early for room; non-zero means the replay cache is too small for the traffic."),
        .init("vigil_journal_write_failures_total", .counter, "HA records the journal (journal.sqlite) could not write, e.g. disk full; the agent keeps running, and a restart gets such records back from its peers."),
    ]

    /// Help text by metric name, for ``DescribedPrometheusFactory``.
    public static let help: [String: String] = Dictionary(
        uniqueKeysWithValues: catalog.map { ($0.name, $0.help) })
}
