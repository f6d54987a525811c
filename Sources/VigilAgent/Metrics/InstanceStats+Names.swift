import VigilCore

extension InstanceStats {
    /// The engine's counters by name, as `vigil info` shows them beside the
    /// transport's (`TransportStats.byName`).
    public var byName: [String: UInt64] {
        [
            "probes_sent": self.probesSent,
            "probes_failed": self.probesFailed,
            "indirect_probes": self.indirectProbes,
            "acks_received": self.acksReceived,
            "nacks_received": self.nacksReceived,
            "suspicions_raised": self.suspicionsRaised,
            "members_suspected": self.membersSuspected,
            "suspicions_outweighed": self.suspicionsOutweighed,
            "suspicions_held": self.suspicionsHeld,
            "refutations": self.refutations,
            "votes_cast": self.votesCast,
            "failures_certified": self.certificates,
            "messages_sent": self.messagesSent,
            "gossip_updates_sent": self.updatesSent,
        ]
    }
}
