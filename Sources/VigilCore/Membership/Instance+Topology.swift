extension Instance {
    /// Recomputes this node's subjects (and their watches) after the live view
    /// changed. The rings themselves are kept current by `setLive`.
    mutating func refreshTopologyIfNeeded() {
        guard self.topologyDirty else { return }
        self.topologyDirty = false
        self.observersCache.removeAll(keepingCapacity: true)
        let newSubjects = self.rings.subjects(of: self.me.name)
        // Most joins and failures are far from this node on every ring: its subjects,
        // and so its watches (kept for exactly the subjects), stay as they are.
        guard newSubjects != self.subjects else { return }
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
    }

    /// Records that `name` joined (`true`) or left (`false`) the live view: the
    /// observer rings and the list of live peers change at once, subjects lazily.
    mutating func setLive(_ name: String, _ live: Bool) {
        if live, self.batchedLive != nil {
            // Inside `batchingLiveChanges`: the rings and the live list take it at the end.
            self.batchedLive!.append(name)
            self.observersCache.removeAll(keepingCapacity: true)
            self.topologyDirty = true
            self.voterMayHaveChanged(name)
            return
        }
        self.flushBatchedLive()
        if live {
            self.rings.insert(name)
        } else {
            self.rings.remove(name)
            // Observer sets moved: votes held for a suspect may now be a quorum.
            self.quorumsNeedRecheck = true
        }
        if name != self.me.name {
            let index = self.liveOthers.partitioningIndex { $0 >= name }
            let present = index < self.liveOthers.count && self.liveOthers[index] == name
            if live && !present {
                self.liveOthers.insert(name, at: index)
            } else if !live && present {
                self.liveOthers.remove(at: index)
            }
            // The round-robin order is not reshuffled here: new members join it at
            // the next round, departed ones are skipped when their turn comes.
        }
        self.observersCache.removeAll(keepingCapacity: true)
        self.topologyDirty = true
        self.voterMayHaveChanged(name)
    }

    /// Runs `body` with members made live collected and added to the observer rings and
    /// the live list in one sort each at the end, which ends in the same state as
    /// adding them one by one. Only for code that reads neither while it runs
    /// (`merge` of a synced state's live members).
    mutating func batchingLiveChanges(_ body: (inout Instance) -> Void) {
        self.flushBatchedLive()
        self.batchedLive = []
        body(&self)
        self.flushBatchedLive()
    }

    mutating func flushBatchedLive() {
        guard let names = self.batchedLive else { return }
        self.batchedLive = nil
        guard !names.isEmpty else { return }
        self.rings.insert(contentsOf: names)
        var fresh = Set<String>()
        for name in names where name != self.me.name {
            let index = self.liveOthers.partitioningIndex { $0 >= name }
            if index == self.liveOthers.count || self.liveOthers[index] != name { fresh.insert(name) }
        }
        guard !fresh.isEmpty else { return }
        self.liveOthers.append(contentsOf: fresh)
        self.liveOthers.sort()
    }

    /// The observers of `subject` in this node's current view.
    mutating func observers(of subject: String) -> [String] {
        if let cached = self.observersCache[subject] { return cached }
        let observers = self.rings.observers(of: subject)
        self.observersCache[subject] = observers
        return observers
    }


    /// Observer sets moved: votes held for a suspect may now make a quorum (or the
    /// voters' view and ours differed while other failures spread).
    mutating func recheckQuorumsIfNeeded() {
        while self.quorumsNeedRecheck {
            self.quorumsNeedRecheck = false
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
        }
    }
}

extension Array {
    /// The first index whose element satisfies `predicate`, for a predicate that is
    /// false then true along the array (binary search).
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = self.count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
