import Testing
import VigilCrypto

@testable import VigilCore

@Suite("Instance: probing, refutation, quorum")
struct InstanceTests {
    let names = ["a", "b", "c", "d", "e", "f", "g"]

    func startedInstance(_ name: String = "a") -> Instance {
        var node = Fixture.instance(name)
        _ = node.start(joining: [], now: .zero)
        return node
    }

    @Test func pingForThisNodeIsAnsweredWithAckOfSameSequence() {
        var a = self.startedInstance()
        let out = a.receive(
            Packet(sender: "b", message: .ping(seq: 42, target: "a")), from: Fixture.address("b"), now: .zero)
        let acks = out.sent.filter { $0.0.message == .ack(seq: 42) }
        #expect(acks.count == 1)
        #expect(acks.first?.1 == Fixture.address("b"))
    }

    @Test func pingNamingAnotherNodeIsDroppedAndCounted() {
        var a = self.startedInstance()
        let out = a.receive(
            Packet(sender: "b", message: .ping(seq: 1, target: "zz")), from: Fixture.address("b"), now: .zero)
        #expect(out.sent.isEmpty)
        #expect(out.events.contains(.dropped(reason: .wrongTarget)))
    }

    @Test func suspectedMemberRefutesWithHigherIncarnation() {
        var a = self.startedInstance()
        _ = a.learn(["b", "c"])
        let suspicion = Suspicion(subject: "a", incarnation: 1, observer: "b")
        let out = a.receive(
            Packet(sender: "b", message: .ping(seq: 7, target: "a"), gossip: [.suspect(suspicion)]),
            from: Fixture.address("b"), now: .zero + .milliseconds(10))
        #expect(out.events.contains(.refuted(incarnation: 2)))
        #expect(a.me.incarnation == 2)
        // The refutation rides first on the very ack that answers the ping.
        let ack = out.sent.first { $0.0.message == .ack(seq: 7) }
        guard case .alive(let record)? = ack?.0.gossip.first else {
            Issue.record("ack carries no alive update first: \(String(describing: ack?.0.gossip))")
            return
        }
        #expect(record.name == "a" && record.incarnation == 2)
    }

    @Test func suspicionOfAnOlderIncarnationIsIgnored() {
        var a = Fixture.instance("a", incarnation: 5)
        _ = a.start(joining: [], now: .zero)
        let out = a.receive(
            Packet(sender: "b", message: .ack(seq: 0), gossip: [.suspect(Suspicion(subject: "a", incarnation: 4, observer: "b"))]),
            from: Fixture.address("b"), now: .zero)
        #expect(!out.events.contains { if case .refuted = $0 { true } else { false } })
        #expect(a.me.incarnation == 5)
    }

    @Test func aliveWithHigherIncarnationCancelsSuspicion() {
        var a = self.startedInstance()
        _ = a.learn(["b", "c", "d"])
        _ = a.receive(
            Packet(sender: "c", message: .ack(seq: 0), gossip: [.suspect(Suspicion(subject: "b", incarnation: 1, observer: "c"))]),
            from: Fixture.address("c"), now: .zero)
        #expect(a.member(named: "b")?.status == .suspect)
        let out = a.receive(
            Packet(sender: "b", message: .ack(seq: 0), gossip: [.alive(Fixture.member("b", incarnation: 2))]),
            from: Fixture.address("b"), now: .zero)
        #expect(a.member(named: "b")?.status == .alive)
        #expect(a.member(named: "b")?.incarnation == 2)
        #expect(out.events.contains(.statusChanged(member: "b", from: .suspect, to: .alive, incarnation: 2)))
    }

    @Test func knownNameWithAnotherKeyIsRefusedAndReported() {
        var a = self.startedInstance()
        _ = a.learn(["b"])
        var impostor = Fixture.member("b", incarnation: 9)
        impostor.identityKey = Fixture.key("mallory").publicKey
        let out = a.receive(
            Packet(sender: "b", message: .ack(seq: 0), gossip: [.alive(impostor)]), from: Fixture.address("b"),
            now: .zero)
        #expect(out.events.contains(.identityConflict(name: "b", address: impostor.address)))
        #expect(a.member(named: "b")?.incarnation == 1)
    }

    @Test func relayNacksWhenTargetStaysSilent() {
        var a = self.startedInstance()
        _ = a.learn(["b", "c"])
        let out = a.receive(
            Packet(sender: "b", message: .pingReq(seq: 9, target: "c", address: Fixture.address("c"))),
            from: Fixture.address("b"), now: .zero)
        let ping = out.sent.first { if case .ping(_, "c") = $0.0.message { true } else { false } }
        #expect(ping?.1 == Fixture.address("c"))
        // Lifeguard: nack at 80% of the probe timeout (200 ms in .lan).
        let early = a.tick(now: .zero + .milliseconds(150))
        #expect(!early.sent.contains { $0.0.message == .nack(seq: 9) })
        let due = a.tick(now: .zero + .milliseconds(161))
        #expect(due.sent.contains { $0.0.message == .nack(seq: 9) && $0.1 == Fixture.address("b") })
    }

    @Test func relayForwardsTheTargetsAckToTheRequester() {
        var a = self.startedInstance()
        _ = a.learn(["b", "c"])
        let out = a.receive(
            Packet(sender: "b", message: .pingReq(seq: 9, target: "c", address: Fixture.address("c"))),
            from: Fixture.address("b"), now: .zero)
        guard case .ping(let relaySeq, _)? = out.sent.first(where: { $0.1 == Fixture.address("c") })?.0.message else {
            Issue.record("no relayed ping")
            return
        }
        let forwarded = a.receive(
            Packet(sender: "c", message: .ack(seq: relaySeq)), from: Fixture.address("c"),
            now: .zero + .milliseconds(2))
        #expect(forwarded.sent.contains { $0.0.message == .ack(seq: 9) && $0.1 == Fixture.address("b") })
    }

    @Test func failedProbesWithoutNacksLowerHealthAndAcksRestoreIt() {
        var a = self.startedInstance()
        _ = a.learn(["b", "c", "d"])
        var now = Instant.zero
        // Nobody answers anything: probes fail and relays never nack.
        for _ in 0..<40 {
            now = now + .milliseconds(100)
            _ = a.tick(now: now)
        }
        #expect(a.healthScore > 0)
        let worst = a.healthScore
        // Now every ping is answered.
        for _ in 0..<200 {
            now = now + .milliseconds(25)
            let out = a.tick(now: now)
            for (packet, address) in out.sent {
                if case .ping(let seq, let target) = packet.message {
                    _ = a.receive(Packet(sender: target, message: .ack(seq: seq)), from: address, now: now)
                }
            }
        }
        #expect(a.healthScore < worst)
    }

    @Test func votesFromAMajorityOfObserversDeclareFailureWithCertificate() {
        var a = self.startedInstance()
        _ = a.learn(Array(self.names.dropFirst()))
        let subject = "b"
        let observers = a.observers(of: subject)
        #expect(observers.count == 5)
        let voters = observers.filter { $0 != "a" }
        // Two votes of five: not a quorum.
        for observer in voters.prefix(2) {
            _ = a.receiveVote(on: subject, incarnation: 1, by: observer)
        }
        #expect(a.member(named: subject)?.status == .suspect)
        // The third makes it.
        let third = voters[2]
        let out = a.receive(
            Packet(sender: third, message: .ack(seq: 0), gossip: [.vote(Fixture.vote(on: subject, incarnation: 1, by: third))]),
            from: Fixture.address(third), now: .zero)
        #expect(a.member(named: subject)?.status == .failed)
        let certificate = out.events.compactMap { if case .failureCertified(let c) = $0 { c } else { nil } }.first
        #expect(certificate?.votes.map(\.observer).sorted() == Array(voters.prefix(3)).sorted())
        #expect(certificate.map { a.verify($0) } == true)
    }

    @Test func explanationShowsObserversSuspicionAndVotes() {
        var a = self.startedInstance()
        _ = a.learn(Array(self.names.dropFirst()))
        let voters = a.observers(of: "b").filter { $0 != "a" }
        _ = a.receiveVote(on: "b", incarnation: 1, by: voters[0])
        let explanation = a.explain("b", now: .zero + .milliseconds(100))
        #expect(explanation?.status == .suspect)
        #expect(explanation?.observers == a.observers(of: "b"))
        #expect(explanation?.suspectedBy == [voters[0]])
        #expect(explanation?.votes == [voters[0]])
        #expect(explanation?.certifiedBy == nil)
        #expect(a.explain("nobody", now: .zero) == nil)
    }

    @Test func refutationVoidsVotesForTheOlderIncarnation() {
        var a = self.startedInstance()
        _ = a.learn(Array(self.names.dropFirst()))
        let voters = a.observers(of: "b").filter { $0 != "a" }
        for observer in voters.prefix(2) {
            _ = a.receiveVote(on: "b", incarnation: 1, by: observer)
        }
        _ = a.receive(
            Packet(sender: "b", message: .ack(seq: 0), gossip: [.alive(Fixture.member("b", incarnation: 2))]),
            from: Fixture.address("b"), now: .zero)
        // A late third vote against incarnation 1 no longer completes anything.
        _ = a.receiveVote(on: "b", incarnation: 1, by: voters[2])
        #expect(a.member(named: "b")?.status == .alive)
        #expect(a.member(named: "b")?.incarnation == 2)
    }

    @Test func forgedDuplicatedAndForeignVotesDoNotMakeACertificate() {
        var a = self.startedInstance()
        _ = a.learn(Array(self.names.dropFirst()))
        let observers = a.observers(of: "b")
        let outsiders = self.names.filter { $0 != "b" && !observers.contains($0) }
        let real = Fixture.vote(on: "b", incarnation: 1, by: observers[0])
        // Signed by the wrong key.
        let forgedSignature = Fixture.key("mallory").sign(Vote.signedBytes(subject: "b", incarnation: 1, observer: observers[1]))
        let forged = Vote(subject: "b", incarnation: 1, observer: observers[1], signature: forgedSignature)
        // Signed correctly by members that are not observers of b.
        let foreign = outsiders.map { Fixture.vote(on: "b", incarnation: 1, by: $0) }
        let certificate = FailureCertificate(subject: "b", incarnation: 1, votes: [real, real, real, forged] + foreign)
        #expect(!a.verify(certificate))
        let out = a.receive(
            Packet(sender: "c", message: .ack(seq: 0), gossip: [.vote(forged)]), from: Fixture.address("c"), now: .zero)
        #expect(out.events.contains(.dropped(reason: .badSignature)))
        // Three genuine observers' votes do verify.
        let genuine = FailureCertificate(
            subject: "b", incarnation: 1, votes: observers.prefix(3).map { Fixture.vote(on: "b", incarnation: 1, by: $0) })
        #expect(a.verify(genuine))
        // But not against another incarnation than the one they signed.
        var tampered = genuine
        tampered.incarnation = 2
        #expect(!a.verify(tampered))
    }

    @Test func nodeDeclaredFailedByQuorumStopsRefuting() {
        var a = self.startedInstance()
        _ = a.learn(Array(self.names.dropFirst()))
        let observers = a.observers(of: "a")
        var events: [MembershipEvent] = []
        for observer in observers.prefix(3) {
            events += a.receive(
                Packet(sender: observer, message: .ack(seq: 0), gossip: [.vote(Fixture.vote(on: "a", incarnation: a.me.incarnation, by: observer))]),
                from: Fixture.address(observer), now: .zero
            ).events
        }
        // The first vote alone is answered by refuting: incarnation 2. Later votes are
        // for incarnation 1 and no longer count, so no certificate forms against a.
        #expect(events.contains(.refuted(incarnation: 2)))
        #expect(!a.isDeclaredFailed)
        // A quorum against the current incarnation, all in one packet, is final.
        let incarnation = a.me.incarnation
        let out = a.receive(
            Packet(sender: observers[0], message: .ack(seq: 0), gossip: observers.prefix(3).map { .vote(Fixture.vote(on: "a", incarnation: incarnation, by: $0)) }),
            from: Fixture.address(observers[0]), now: .zero)
        #expect(a.isDeclaredFailed)
        #expect(a.me.incarnation == incarnation)
        #expect(out.events.contains { if case .declaredFailed = $0 { true } else { false } })
        #expect(!out.events.contains { if case .refuted = $0 { true } else { false } })
    }

    @Test func certificateAgainstARefutedIncarnationOfTheSameLifeIsStillFinal() {
        var a = self.startedInstance()
        _ = a.learn(Array(self.names.dropFirst()))
        let voters = a.observers(of: "b").filter { $0 != "a" }.prefix(3)
        // b refuted a suspicion (incarnation 1 → 2) ...
        _ = a.receive(
            Packet(sender: "b", message: .ack(seq: 0), gossip: [.alive(Fixture.member("b", incarnation: 2))]),
            from: Fixture.address("b"), now: .zero)
        // ... but the refutation crossed a quorum's certificate against incarnation 1.
        let certificate = FailureCertificate(
            subject: "b", incarnation: 1, votes: voters.map { Fixture.vote(on: "b", incarnation: 1, by: $0) })
        _ = a.receive(
            Packet(sender: "c", message: .ack(seq: 0), gossip: [.failed(certificate)]), from: Fixture.address("c"),
            now: .zero)
        #expect(a.member(named: "b")?.status == .failed)
        // Further refutations of that life change nothing ...
        _ = a.receive(
            Packet(sender: "b", message: .ack(seq: 0), gossip: [.alive(Fixture.member("b", incarnation: 3))]),
            from: Fixture.address("b"), now: .zero)
        #expect(a.member(named: "b")?.status == .failed)
        // ... only a restart, a new life, brings b back.
        let restarted = Fixture.member("b", incarnation: Incarnation.nextLife(after: 3))
        _ = a.receive(
            Packet(sender: "b", message: .ack(seq: 0), gossip: [.alive(restarted)]), from: Fixture.address("b"),
            now: .zero)
        #expect(a.member(named: "b")?.status == .alive)
    }

    @Test func tooFewVotesInACertificateDoNotFailAnyone() {
        var a = self.startedInstance()
        _ = a.learn(Array(self.names.dropFirst()))
        let voters = a.observers(of: "b").filter { $0 != "a" }.prefix(2)
        let certificate = FailureCertificate(
            subject: "b", incarnation: 1, votes: voters.map { Fixture.vote(on: "b", incarnation: 1, by: $0) })
        _ = a.receive(
            Packet(sender: "c", message: .ack(seq: 0), gossip: [.failed(certificate)]), from: Fixture.address("c"),
            now: .zero)
        #expect(a.member(named: "b")?.status == .suspect)
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test func pauseToleranceIsPhiMarginPlusShortestWindowLessOneGossipRound() {
        // phi = 8 ⇔ y ≈ 5.226 in Akka's logistic approximation (solved independently
        // with python: log10(1 + exp(y(1.5976 + 0.070566 y²))) = 8).
        #expect(abs(Configuration.standardScore(forPhi: 8) - 5.226) < 0.001)
        let lan = Configuration.lan.pauseTolerance.milliseconds
        #expect(abs(lan - (500 + 522.6 + 500 - 200)) < 1)
        #expect(Configuration.local.pauseTolerance < Configuration.lan.pauseTolerance)
        #expect(Configuration.lan.pauseTolerance < Configuration.wan.pauseTolerance)
    }

    @Test func presetsAreFoundByName() {
        #expect(Configuration.preset(named: "LAN") == .lan)
        #expect(Configuration.preset(named: "wan") == .wan)
        #expect(Configuration.preset(named: "local") == .local)
        #expect(Configuration.preset(named: "fast") == nil)
    }
}
