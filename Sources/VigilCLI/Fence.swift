import ArgumentParser
import Foundation
import VigilAgent

/// `vigil fence`: what the leader fenced and recovered, and the operator's part in it
/// (like Pacemaker's `stonith_admin`).
struct Fence: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show and steer fencing: status, approve, confirm, unfence.",
        discussion: """
            Any member takes these commands: each step is signed by the member you ask, \
            gossiped, and acted on by the leader. `vigil history` shows every step taken.
            """,
        subcommands: [FenceStatus.self, FenceApprove.self, FenceConfirm.self, FenceUnfence.self]
    )
}

struct FenceStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Where each failed node stands: held by the brake, fencing, fenced, recovering, recovered.",
        discussion: """
            Exit status: 0 when nothing waits for an operator, 3 when the brake holds a \
            fence or a fence keeps failing, 1 if the agent cannot be reached, 2 for bad \
            arguments.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var control: ControlOptions

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    func run() async throws {
        let view = try await self.control.client.getFenceStatus()
        switch self.format {
        case .table: writeToStandardOutput(ControlText.fenceStatus(view))
        case .json: writeToStandardOutput(try ControlJSON.pretty(view))
        }
        if view.nodes.contains(where: { $0.phase == "awaiting-approval" || $0.phase == "fence-failed" }) {
            throw ExitCode(3)
        }
    }
}

struct FenceApprove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Let fences held by the blast-radius brake go ahead.",
        discussion: """
            The brake holds automatic fencing when too much of the cluster failed at once \
            (a switch, not hosts, is the likely cause). Approve only once you know the \
            named nodes are really down. Exit status: 0 when every fence named was \
            approved, 1 when one was refused (not held by the brake) or the agent cannot \
            be reached, 2 for bad arguments.
            """
    )

    @OptionGroup var control: ControlOptions

    @Flag(help: "Approve every fence the brake holds now.")
    var all = false

    @Argument(help: "Nodes whose fences to approve.")
    var names: [String] = []

    func validate() throws {
        guard self.all != !self.names.isEmpty else {
            throw ValidationError("name the nodes to approve, or give --all (not both)")
        }
    }

    func run() async throws {
        let view = try await self.control.client.approveFences(self.all ? nil : self.names)
        if view.results.isEmpty {
            writeToStandardOutput("No fence is held by the brake.\n")
            return
        }
        writeToStandardOutput(ControlText.fenceResults(view))
        if view.results.contains(where: { !$0.done }) { throw ExitCode(1) }
    }
}

struct FenceConfirm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm",
        abstract: "Vouch that a failed node is powered off, so that its recovery starts (like stonith_admin --confirm).",
        discussion: """
            Use it when the fence cannot work (a dead BMC) and you have made sure by other \
            means that the node is off: pulled its power, or checked it at the PDU. If it \
            is not off, its instances will run twice. Exit status: 0 when recorded, 1 when \
            refused (the node is not failed, or already fenced) or the agent cannot be \
            reached, 2 for bad arguments or without --yes.
            """
    )

    @OptionGroup var control: ControlOptions

    @Flag(help: "I have checked that the node is powered off.")
    var yes = false

    @Argument(help: "The failed node.")
    var name: String

    func validate() throws {
        guard self.yes else {
            throw ValidationError(
                "confirming tells the cluster that \(self.name) is powered off; if it is not, its instances run "
                    + "twice. Check it is off, then run again with --yes")
        }
    }

    func run() async throws {
        writeToStandardOutput(ControlText.fenceResults(try await self.control.client.confirmFenced(self.name)))
    }
}

struct FenceUnfence: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unfence",
        abstract: "Return a fenced node to service once it is repaired.",
        discussion: """
            A fenced node that is powered on again stays out of service: it watches its \
            peers but neither votes nor leads, and nothing is done to it. Unfence it when \
            it is fit to run instances again (in Nova, also `openstack compute service set \
            --up` and `--enable` its compute service). Exit status: 0 when recorded, 1 when \
            refused (not fenced, or its recovery is still running) or the agent cannot be \
            reached, 2 for bad arguments.
            """
    )

    @OptionGroup var control: ControlOptions

    @Argument(help: "The fenced node.")
    var name: String

    func run() async throws {
        writeToStandardOutput(ControlText.fenceResults(try await self.control.client.unfence(self.name)))
    }
}
