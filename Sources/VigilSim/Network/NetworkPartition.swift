/// A cut in the network between a group of nodes and everyone else.
///
/// Symmetric: nothing crosses the cut in either direction. One-way: the group cannot
/// reach the rest, but the rest still reaches the group (a firewall rule or a broken
/// return route — the case where a node hears pings and its acks vanish).
public struct NetworkPartition: Hashable, Sendable {
    /// Identifies the cut for `heal`.
    public var id: Int
    /// `group[i]`: node `i` is on the split-off side.
    public var group: [Bool]
    /// Whether only traffic from the group to the rest is blocked.
    public var oneWay: Bool

    public init(id: Int, group: [Bool], oneWay: Bool = false) {
        self.id = id
        self.group = group
        self.oneWay = oneWay
    }

    /// Builds the cut from the indices of the split-off nodes.
    public init(id: Int, nodes count: Int, splitOff members: some Sequence<Int>, oneWay: Bool = false) {
        var group = [Bool](repeating: false, count: count)
        for i in members { group[i] = true }
        self.init(id: id, group: group, oneWay: oneWay)
    }

    /// Whether this cut stops traffic from `from` to `to`.
    @inlinable
    public func blocks(from: Int, to: Int) -> Bool {
        let a = self.group[from]
        let b = self.group[to]
        return self.oneWay ? (a && !b) : (a != b)
    }
}
