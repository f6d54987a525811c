extension Instance {
    /// Takes back the HA records the shell journaled before a restart (the newest of
    /// each node, `DurableRecord.ha`), so that a restarted node knows at once which
    /// nodes were fenced or recovered, and as leader resumes instead of starting over.
    ///
    /// A record is kept only if it is newer than the one held for its node (precedence:
    /// life, then term, then step). Trusted like the election record: the leader that
    /// signed it may not be known yet at start, and the journal holds only records this
    /// node verified or signed when it stored them. Restored records are old news: they
    /// are not gossiped again, but the sync digest covers them, so a peer that lacks
    /// one gets it with the next push-pull, and a newer one from a peer still wins.
    /// Emits nothing; call before `start`.
    public mutating func restore(haRecords records: [HARecord]) {
        for record in records {
            if let current = self.haRecords[record.node], record.precedence <= current.precedence { continue }
            self.haRecords[record.node] = record
            // A fenced node leaves the quorum denominator.
            self.voterMayHaveChanged(record.node)
        }
    }
}
