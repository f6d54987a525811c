extension Instance {
    /// Recomputes the observer rings, this node's subjects and the live list after
    /// the live view changed. Cheap to call; does the work only when needed.
    mutating func refreshTopologyIfNeeded() {
        guard self.topologyDirty else { return }
        self.topologyDirty = false
        var live = self.entries.values.filter { $0.member.status.isLive }.map(\.member.name)
        live.sort()
        self.liveOthers = live
        var ringMembers = live
        if self.me.status.isLive && self.ownCertificate == nil && !self.hasLeft {
            ringMembers.append(self.me.name)
        }
        self.rings = ObserverRings(k: self.configuration.probe.observers, members: ringMembers)
        self.observersCache.removeAll(keepingCapacity: true)
        let newSubjects = self.rings.subjects(of: self.me.name)
        let firstEstimate = self.configuration.probe.period
        var watches: [String: SubjectWatch] = [:]
        for name in newSubjects {
            if let existing = self.watches[name] {
                watches[name] = existing
            } else {
                // A new subject is assumed alive now: a member that never answers
                // still becomes suspect once phi grows from this first "heartbeat".
                var detector = PhiAccrualDetector(self.configuration.phi, firstHeartbeatEstimate: firstEstimate)
                detector.heartbeat(at: self.now)
                watches[name] = SubjectWatch(detector: detector)
            }
        }
        self.watches = watches
        self.subjects = newSubjects
        self.quorumsNeedRecheck = true
        self.randomOrder = []
        self.randomCursor = 0
    }

    /// The observers of `subject` in this node's current view.
    mutating func observers(of subject: String) -> [String] {
        self.refreshTopologyIfNeeded()
        if let cached = self.observersCache[subject] { return cached }
        let observers = self.rings.observers(of: subject)
        self.observersCache[subject] = observers
        return observers
    }

    mutating func markTopologyChanged() {
        self.topologyDirty = true
    }

    /// Observer sets moved: votes held for a suspect may now make a quorum (or the
    /// voters' view and ours differed while other failures spread).
    mutating func recheckQuorumsIfNeeded() {
        while self.quorumsNeedRecheck {
            self.quorumsNeedRecheck = false
            self.refreshTopologyIfNeeded()
            let pending = self.entries.values.filter { $0.member.status == .suspect && !$0.votes.isEmpty }
                .map(\.member.name).sorted()
            for name in pending {
                guard let entry = self.entries[name], entry.member.status == .suspect else { continue }
                let certificate = FailureCertificate(
                    subject: name, incarnation: entry.member.incarnation,
                    votes: entry.votes.values.filter { $0.incarnation == entry.member.incarnation }.sorted {
                        $0.observer < $1.observer
                    })
                if let proven = self.quorumSubset(of: certificate) {
                    self.declareFailed(proven)
                }
            }
            self.refreshTopologyIfNeeded()
        }
    }
}
