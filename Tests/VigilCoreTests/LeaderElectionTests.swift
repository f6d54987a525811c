import Testing

@testable import VigilCore

/// The election state machine alone, fed messages and time by hand.
@Suite("Leader election: one node's rules")
struct LeaderElectionTests {
    let settings = LeaderElection.Settings(
        heartbeatInterval: .seconds(1), leaseDuration: .seconds(3), electionTimeoutMin: .milliseconds(500),
        electionTimeoutMax: .milliseconds(1500))
    let voters = ["a", "b", "c", "d", "e"]

    func view(_ me: String = "a", voters: [String]? = nil, canStand: Bool = true) -> ElectionView {
        let voters = voters ?? self.voters
        return ElectionView(
            voters: voters, reachableVoters: voters, heartbeatTargets: voters.filter { $0 != me }, canStand: canStand,
            canLead: true)
    }

    /// Ticks `election` every 10 ms from `from` until it asks for pre-votes, grants
    /// them from `b` and `c`, and returns when it then asked for votes.
    func standAt(_ election: inout LeaderElection, from: Instant, rng: inout DeterministicRNG) -> (Instant, [ElectionAction]) {
        var now = from
        while true {
            let actions = election.tick(now: now, view: self.view(), rng: &rng)
            if let proposed = actions.lazy.compactMap({ action -> UInt64? in
                if case .send(.preVoteRequest(let term, _, _), _) = action { term } else { nil }
            }).first {
                #expect(election.role == .follower, "a pre-vote changes nothing yet")
                #expect(election.term == proposed - 1)
                _ = election.receive(
                    .preVoteReply(term: proposed, granted: true), from: "b", now: now, view: self.view(), rng: &rng)
                let stood = election.receive(
                    .preVoteReply(term: proposed, granted: true), from: "c", now: now, view: self.view(), rng: &rng)
                return (now, stood)
            }
            now = now + .milliseconds(10)
        }
    }

    @Test func aNodeWhosePreVoteIsRefusedNeverRaisesItsTerm() {
        var rng = DeterministicRNG(seed: 11)
        var election = LeaderElection(me: "a", settings: self.settings)
        var now = Instant.zero
        var asked = 0
        while now < .zero + .seconds(20) {
            for action in election.tick(now: now, view: self.view(), rng: &rng) {
                if case .send(.preVoteRequest(let term, _, _), let to) = action {
                    asked += 1
                    _ = election.receive(
                        .preVoteReply(term: term, granted: false), from: to, now: now, view: self.view(), rng: &rng)
                }
                #expect(!{ if case .send(.voteRequest, _) = action { true } else { false } }())
            }
            now = now + .milliseconds(10)
        }
        #expect(asked > 0)
        #expect(election.term == 0)
        #expect(election.role == .follower)
    }

    @Test func aVoterAnswersAPreVoteWithoutChangingItsState() {
        var rng = DeterministicRNG(seed: 12)
        var election = LeaderElection(me: "c", settings: self.settings)
        let view = self.view("c")
        let out = election.receive(
            .preVoteRequest(term: 5, voters: view.votersDigest, count: 5), from: "a", now: .zero, view: view, rng: &rng)
        #expect(out == [.send(.preVoteReply(term: 5, granted: true), to: "a")])
        #expect(election.term == 0 && election.votedFor == nil)
        // Promised to a live leader: no.
        _ = election.receive(.heartbeat(term: 6, seq: 1), from: "b", now: .zero, view: view, rng: &rng)
        let refused = election.receive(
            .preVoteRequest(term: 7, voters: view.votersDigest, count: 5), from: "a", now: .zero + .seconds(1),
            view: view, rng: &rng)
        #expect(refused == [.send(.preVoteReply(term: 7, granted: false), to: "a")])
        #expect(election.term == 6)
    }

    @Test func aCandidateWithVotesFromAMajorityLeadsAndSendsHeartbeats() {
        var rng = DeterministicRNG(seed: 1)
        var election = LeaderElection(me: "a", settings: self.settings)
        let (at, actions) = self.standAt(&election, from: .zero, rng: &rng)
        #expect(election.role == .candidate)
        #expect(election.term == 1)
        #expect(actions.first == .persist(ElectionRecord(term: 1, votedFor: "a")))
        let view = self.view()
        #expect(actions.contains(.send(.voteRequest(term: 1, voters: view.votersDigest, count: 5), to: "b")))
        _ = election.receive(.voteReply(term: 1, granted: true), from: "b", now: at, view: view, rng: &rng)
        #expect(election.role == .candidate, "two of five is not a majority")
        let won = election.receive(.voteReply(term: 1, granted: true), from: "c", now: at, view: view, rng: &rng)
        #expect(election.role == .leader)
        #expect(won.contains(.leaderChanged(term: 1, leader: "a")))
        #expect(won.contains(.send(.heartbeat(term: 1, seq: 1), to: "e")))
        #expect(election.isLeader(at: at, view: view))
    }

    @Test func aVoteIsPersistedBeforeTheReplyAndGivenOncePerTerm() {
        var rng = DeterministicRNG(seed: 2)
        var election = LeaderElection(me: "c", settings: self.settings)
        let view = self.view("c")
        let request = ElectionMessage.voteRequest(term: 4, voters: view.votersDigest, count: 5)
        let first = election.receive(request, from: "a", now: .zero, view: view, rng: &rng)
        #expect(
            first == [
                .persist(ElectionRecord(term: 4, votedFor: nil)), .persist(ElectionRecord(term: 4, votedFor: "a")),
                .send(.voteReply(term: 4, granted: true), to: "a"),
            ])
        // Another candidate of the same term, after the promise to `a` ran out, still
        // gets nothing: one vote per term.
        let later = Instant.zero + .seconds(10)
        let second = election.receive(request, from: "b", now: later, view: view, rng: &rng)
        #expect(second == [.send(.voteReply(term: 4, granted: false), to: "b")])
    }

    @Test func aRestartedVoterRemembersItsVote() {
        var rng = DeterministicRNG(seed: 3)
        var election = LeaderElection(
            me: "c", settings: self.settings, restoring: ElectionRecord(term: 4, votedFor: "a"))
        let view = self.view("c")
        let out = election.receive(
            .voteRequest(term: 4, voters: view.votersDigest, count: 5), from: "b", now: .zero, view: view, rng: &rng)
        #expect(out == [.send(.voteReply(term: 4, granted: false), to: "b")])
        #expect(election.term == 4)
    }

    @Test func aVoterThatHeardALeaderRefusesOtherCandidatesAndKeepsItsTerm() {
        var rng = DeterministicRNG(seed: 4)
        var election = LeaderElection(me: "c", settings: self.settings)
        let view = self.view("c")
        _ = election.receive(.heartbeat(term: 2, seq: 1), from: "a", now: .zero, view: view, rng: &rng)
        #expect(election.leader == "a")
        // A node back from a partition with a high term must not depose a working leader.
        let out = election.receive(
            .voteRequest(term: 9, voters: view.votersDigest, count: 5), from: "e", now: .zero + .seconds(1),
            view: view, rng: &rng)
        #expect(out == [.send(.voteReply(term: 2, granted: false), to: "e")])
        #expect(election.term == 2)
        // Once the leader has been silent for a whole lease, the same request wins.
        let late = election.receive(
            .voteRequest(term: 9, voters: view.votersDigest, count: 5), from: "e", now: .zero + .seconds(4),
            view: view, rng: &rng)
        #expect(late.contains(.send(.voteReply(term: 9, granted: true), to: "e")))
    }

    @Test func aCandidateCountingOtherVotersIsRefused() {
        var rng = DeterministicRNG(seed: 5)
        var election = LeaderElection(me: "c", settings: self.settings)
        let view = self.view("c")
        let other = ElectionView.digest(of: ["a", "b", "c"])
        let out = election.receive(
            .voteRequest(term: 1, voters: other, count: 3), from: "a", now: .zero, view: view, rng: &rng)
        #expect(out.contains(.send(.voteReply(term: 1, granted: false), to: "a")))
        #expect(election.votedFor == nil)
    }

    @Test func aLeaderWhoseHeartbeatsGoUnansweredStepsDownBeforeItsVotersArFree() {
        var rng = DeterministicRNG(seed: 6)
        var election = LeaderElection(me: "a", settings: self.settings)
        let view = self.view()
        let (at, _) = self.standAt(&election, from: .zero, rng: &rng)
        for voter in ["b", "c"] {
            _ = election.receive(.voteReply(term: 1, granted: true), from: voter, now: at, view: view, rng: &rng)
        }
        #expect(election.role == .leader)
        // Nobody acknowledges a heartbeat: the lease counted from the vote requests
        // ends after 90% of the lease, while the voters' promises (from when they got
        // the request) last the full lease.
        var now = at
        var steppedDownAt: Instant?
        while now < at + .seconds(5) {
            now = now + .milliseconds(10)
            let out = election.tick(now: now, view: view, rng: &rng)
            if out.contains(.leaderChanged(term: 1, leader: nil)) {
                steppedDownAt = now
                break
            }
        }
        let stepped = try! #require(steppedDownAt)
        #expect(stepped - at <= self.settings.leaseDuration.scaled(by: 0.9) + .milliseconds(10))
        #expect(stepped - at < self.settings.leaseDuration)
        #expect(election.role == .follower)
    }

    @Test func acknowledgedHeartbeatsKeepTheLease() {
        var rng = DeterministicRNG(seed: 7)
        var election = LeaderElection(me: "a", settings: self.settings)
        let view = self.view()
        let (at, _) = self.standAt(&election, from: .zero, rng: &rng)
        for voter in ["b", "c"] {
            _ = election.receive(.voteReply(term: 1, granted: true), from: voter, now: at, view: view, rng: &rng)
        }
        var now = at
        while now < at + .seconds(20) {
            now = now + .milliseconds(10)
            for action in election.tick(now: now, view: view, rng: &rng) {
                if case .send(.heartbeat(let term, let seq), let to) = action, to == "b" || to == "d" {
                    _ = election.receive(.heartbeatAck(term: term, seq: seq), from: to, now: now, view: view, rng: &rng)
                }
            }
            #expect(election.isLeader(at: now, view: view))
        }
    }

    /// A member outside the voter set follows the leader it hears but sends no ack (the
    /// leader counts only voters'); a voter acks every heartbeat.
    @Test func aNonVoterLearnsTheLeaderWithoutAcknowledgingItsHeartbeats() {
        var rng = DeterministicRNG(seed: 3)
        let voters = ["a", "b", "c"]
        var outsider = LeaderElection(me: "x", settings: self.settings)
        let outsiderView = ElectionView(
            voters: voters, reachableVoters: voters, heartbeatTargets: voters, canStand: true, canLead: true)
        let heard = outsider.receive(.heartbeat(term: 4, seq: 9), from: "a", now: .zero, view: outsiderView, rng: &rng)
        #expect(heard.contains(.leaderChanged(term: 4, leader: "a")))
        #expect(outsider.leader == "a" && outsider.term == 4)
        #expect(!heard.contains { if case .send(.heartbeatAck, _) = $0 { true } else { false } }, "\(heard)")

        var voter = LeaderElection(me: "b", settings: self.settings)
        let voterView = self.view("b", voters: voters)
        let acked = voter.receive(.heartbeat(term: 4, seq: 9), from: "a", now: .zero, view: voterView, rng: &rng)
        #expect(acked.contains(.send(.heartbeatAck(term: 4, seq: 9), to: "a")))

        // A deposed leader still hears the newer term from anyone.
        let stale = outsider.receive(.heartbeat(term: 2, seq: 1), from: "c", now: .zero, view: outsiderView, rng: &rng)
        #expect(stale.contains(.send(.heartbeatAck(term: 4, seq: 1), to: "c")))
    }

    @Test func aSingleVoterLeadsAlone() {
        var rng = DeterministicRNG(seed: 8)
        var election = LeaderElection(me: "solo", settings: self.settings)
        let view = self.view("solo", voters: ["solo"])
        var now = Instant.zero
        while election.role != .leader && now < .zero + .seconds(5) {
            _ = election.tick(now: now, view: view, rng: &rng)
            now = now + .milliseconds(10)
        }
        #expect(election.isLeader(at: now + .seconds(3600), view: view))
    }

    @Test func aNodeThatMayNotStandNeverAsksForVotes() {
        var rng = DeterministicRNG(seed: 9)
        var election = LeaderElection(me: "a", settings: self.settings)
        let view = self.view(canStand: false)
        var now = Instant.zero
        while now < .zero + .seconds(30) {
            let out = election.tick(now: now, view: view, rng: &rng)
            #expect(!out.contains { if case .send = $0 { true } else { false } })
            now = now + .milliseconds(50)
        }
        #expect(election.term == 0)
    }
}

/// Elections among real instances on the in-memory network.
@Suite("Leader election in a cluster")
struct ClusterElectionTests {
    let names = (1...7).map { "node-\($0)" }

    func leaders(_ network: MiniNetwork) -> [String] {
        network.nodes.filter { !network.down.contains($0.key) && $0.value.isLeader }.map(\.key).sorted()
    }

    @Test func aClusterElectsOneLeaderThatEveryMemberKnows() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(10))
        let leaders = self.leaders(network)
        #expect(leaders.count == 1, "leaders: \(leaders)")
        guard let leader = leaders.first else { return }
        let term = network.nodes[leader]!.leaderStatus.term
        for name in self.names {
            let status = network.nodes[name]!.leaderStatus
            #expect(status.leader == leader, "\(name) sees \(status.leader ?? "none")")
            #expect(status.term == term)
        }
    }

    /// Whether `name` may vote now, as its own election view says.
    func mayVote(_ name: String, _ network: MiniNetwork) -> Bool {
        var node = network.nodes[name]!
        return node.electionView().canVote
    }

    @Test func aNewcomerOrARestartedNodeVotesALeaseAfterItJoined() {
        let names = Array(self.names.prefix(5))
        let lease = Configuration.lan.election.leaseDuration
        var network = MiniNetwork(names: names)
        network.run(until: .zero + .seconds(1))
        // A fresh cluster: everyone is new, nobody votes yet, so nobody leads.
        #expect(names.allSatisfy { !self.mayVote($0, network) })
        #expect(self.leaders(network).isEmpty)
        network.run(until: .zero + .seconds(10))
        #expect(names.allSatisfy { self.mayVote($0, network) })
        #expect(self.leaders(network).count == 1, "leaders: \(self.leaders(network))")

        // A new member joins through node-1: it waits a lease before it votes.
        let newcomer = "node-9"
        network.byAddress[Fixture.address(newcomer)] = newcomer
        network.nodes[newcomer] = Fixture.instance(newcomer, seed: 99)
        network.carry(network.nodes[newcomer]!.start(joining: [Fixture.address(names[0])], now: network.now), from: newcomer)
        let joined = network.now
        network.run(until: joined + .seconds(1))
        #expect(network.nodes[newcomer]!.members.count == names.count + 1, "it joined")
        #expect(!self.mayVote(newcomer, network))
        network.run(until: joined + lease + .seconds(1))
        #expect(self.mayVote(newcomer, network))

        // A member restarts in its next life. It cannot tell a restart from a whole
        // cluster coming back at once (every view growing again), so it waits too;
        // the leader, heard meanwhile, stays.
        let leader = try! #require(self.leaders(network).first)
        let restarted = names.last { $0 != leader }!
        network.nodes[restarted] = Fixture.instance(restarted, seed: 77, incarnation: Incarnation.first(life: 2))
        network.carry(network.nodes[restarted]!.start(joining: [Fixture.address(names[0])], now: network.now), from: restarted)
        let back = network.now
        network.run(until: back + .seconds(1))
        #expect(!self.mayVote(restarted, network))
        #expect(network.nodes[restarted]!.leaderStatus.leader == leader)
        network.run(until: back + lease + .seconds(1))
        #expect(self.mayVote(restarted, network))
        #expect(self.leaders(network) == [leader])
    }

    @Test func aCrashedLeaderIsReplacedInAHigherTerm() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(10))
        let old = try! #require(self.leaders(network).first)
        let oldTerm = network.nodes[old]!.leaderStatus.term
        network.down.insert(old)
        network.run(until: network.now + .seconds(10))
        let leaders = self.leaders(network)
        #expect(leaders.count == 1 && leaders != [old], "leaders: \(leaders)")
        if let new = leaders.first {
            #expect(network.nodes[new]!.leaderStatus.term > oldTerm)
        }
    }

    @Test func theMinoritySideOfAPartitionNeverLeadsAndTheMajoritySideDoes() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(10))
        let old = try! #require(self.leaders(network).first)
        // Cut the leader off with two others: 3 of 7 on side 1.
        let minority = [old] + self.names.filter { $0 != old }.prefix(2)
        for name in minority { network.side[name] = 1 }
        let cutAt = network.now
        network.run(until: cutAt + .seconds(30))
        #expect(Set(self.leaders(network)).isDisjoint(with: minority), "leaders: \(self.leaders(network))")
        let majorityLeaders = self.leaders(network).filter { !minority.contains($0) }
        #expect(majorityLeaders.count == 1, "majority side leaders: \(majorityLeaders)")
        // No minority node claimed to lead any term after the old leader's lease.
        let lease = Configuration.lan.election.leaseDuration
        let claims = network.events.filter {
            if case .leaderChanged(_, let leader?) = $0.event { leader == $0.node && minority.contains($0.node) }
            else { false }
        }
        #expect(claims.allSatisfy { $0.at < cutAt + lease }, "minority claims: \(claims.map(\.node))")
    }

    @Test func failedButUnfencedMembersStillCountSoSurvivorsWithoutAMajorityNeverLead() {
        var network = MiniNetwork(names: self.names)
        network.run(until: .zero + .seconds(10))
        // Four of seven crash one after another, each certified failed by the rest
        // before the next. Nobody fenced them, so they stay in the denominator: the
        // three survivors are not a majority of seven and must not lead, whoever
        // led before.
        var crashed: [String] = []
        for name in self.names.reversed().prefix(4) {
            network.down.insert(name)
            crashed.append(name)
            network.run(until: network.now + .seconds(8))
            for observer in self.names where !crashed.contains(observer) {
                #expect(network.status(of: name, at: observer) == .failed, "\(observer) sees \(name)")
            }
        }
        let survivors = self.names.filter { !crashed.contains($0) }
        #expect(self.leaders(network).isEmpty, "leaders: \(self.leaders(network))")
        for name in survivors {
            #expect(network.nodes[name]!.leaderStatus.majority == 4)
            #expect(network.nodes[name]!.leaderStatus.leader == nil)
        }
    }
}
