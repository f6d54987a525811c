import VigilCrypto

// Distributing `vigil keys install/use/remove`: the cluster keyring as one signed,
// versioned record that every member converges on, and per-member reports of the
// keys actually held. The core orders, checks and spreads; the agent owns the keys.

extension Instance {
    // MARK: - Inputs

    /// Issues a new cluster keyring record: version one above the highest this node
    /// has seen, signed with this node's identity, gossiped, and published here as
    /// `.keyringChanged` so that the shell applies it like any other.
    ///
    /// Two members issuing at once may pick the same version; the issuer's name then
    /// decides (`KeyringRecord.Precedence`) and the other change is lost, so the CLI
    /// runs one key command at a time and waits for it.
    ///
    /// - Parameter payload: the keys as the agent encodes them.
    /// - Throws: `.payloadTooLong` if `payload` exceeds `WireCodec.maxKeyringPayloadBytes`.
    public mutating func issueKeyring(payload: [UInt8], now: Instant) throws(WireError) -> [Directive] {
        guard payload.count <= WireCodec.maxKeyringPayloadBytes else { throw .payloadTooLong }
        self.begin(now)
        let version = (self.keyringRecord?.version ?? 0) &+ 1
        let bytes = KeyringRecord.signedBytes(version: version, issuer: self.me.name, payload: payload)
        self.adopt(
            KeyringRecord(version: version, issuer: self.me.name, payload: payload, signature: self.identity.sign(bytes)))
        return self.finish()
    }

    /// Records and gossips what this node holds now (after applying a keyring, and at
    /// start). `installed` should include `primary`; it is added if missing, and the
    /// list is cut to `WireCodec.maxReportedKeys` ids, the primary always kept.
    public mutating func reportKeys(primary: UInt32, installed: [UInt32], now: Instant) -> [Directive] {
        self.begin(now)
        // The shell's order (installation order) is kept, unless the list must be cut.
        var ids = installed.uniqued()
        if !ids.contains(primary) { ids.insert(primary, at: 0) }
        if ids.count > WireCodec.maxReportedKeys {
            ids = [primary] + ids.filter { $0 != primary }.prefix(WireCodec.maxReportedKeys - 1)
        }
        self.keyReportSequence &+= 1
        let report = KeyReport(member: self.me.name, sequence: self.keyReportSequence, primary: primary, installed: ids)
        self.keyReports[self.me.name] = report
        self.queue.enqueue(.keyReport(report), key: .keyReport(self.me.name), priority: .routine)
        return self.finish()
    }

    /// Takes a record this node adopted in an earlier life back (the shell persisted it
    /// next to the keys), so that versions keep growing across restarts of the whole
    /// cluster. Trusted: the issuer's key may not be known yet. Call before `start`.
    public mutating func restoreKeyring(_ record: KeyringRecord) {
        if let current = self.keyringRecord, record.precedence <= current.precedence { return }
        self.keyringRecord = record
    }

    // MARK: - Queries

    /// The key reports of the members that are alive or suspect here, this node's own
    /// included, sorted by member name.
    public var liveKeyReports: [KeyReport] {
        self.keyReports.values.filter { self.member(named: $0.member)?.status.isLive == true }
            .sorted { $0.member < $1.member }
    }

    /// The names of the members that are alive or suspect here, this node included,
    /// sorted: the members `vigil keys` waits for.
    public var liveMemberNames: [String] {
        self.members.filter { $0.status.isLive }.map(\.name)
    }

    // MARK: - Merging

    /// A gossiped or synced record: adopted if it is newer than ours and signed by a
    /// member we know; refused and counted otherwise. An older or equal record is no
    /// news and is ignored without a check.
    mutating func applyKeyring(_ record: KeyringRecord) {
        if let current = self.keyringRecord, record.precedence <= current.precedence { return }
        guard let key = self.member(named: record.issuer)?.identityKey else {
            self.publish(.dropped(reason: .unknownSigner))
            return
        }
        guard key.isValidSignature(record.signature, for: record.signedBytes) else {
            self.publish(.dropped(reason: .badSignature))
            return
        }
        self.adopt(record)
    }

    /// Makes `record` the cluster keyring here. Gossiped on whatever its source: a
    /// record is rare, and a node that learned it from a sync may be the first of its
    /// neighbours to have it.
    private mutating func adopt(_ record: KeyringRecord) {
        self.keyringRecord = record
        self.queue.enqueue(.keyring(record), key: .keyring, priority: .routine)
        self.publish(.keyringChanged(record))
    }

    /// Keeps a member's report if it is newer than the one held. Reports of unknown
    /// members (they come again in the next sync) and of this node (its own is the
    /// truth) are ignored.
    /// - Parameter regossip: `false` for reports learned in bulk from a synced state.
    mutating func applyKeyReport(_ report: KeyReport, regossip: Bool) {
        guard report.member != self.me.name, self.entries[report.member] != nil else { return }
        if let known = self.keyReports[report.member], report.sequence <= known.sequence { return }
        self.keyReports[report.member] = report
        if regossip {
            self.queue.enqueue(.keyReport(report), key: .keyReport(report.member), priority: .routine)
        }
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each only the first time it occurs.
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return self.filter { seen.insert($0).inserted }
    }
}
