import ArgumentParser
import Foundation
public import Logging
public import ServiceLifecycle
public import ZMesh

/// The entry point of a program that runs one node of a topology file, as `zmesh node` does:
/// same flags and environment (``NodeOptions``), same signals, same drain, same exit codes.
///
/// ```swift
/// // main.swift
/// await NodeProgram.run(label: "greeter") { context in
///     var handlers = ServiceHandlers()
///     handlers.register(Greeter.hello) { request, _ in HelloReply(...) }
///     return [try MeshNode.make(named: context.name, in: context.topology, handlers: handlers,
///                               logger: context.logger, onListening: ReadyFile.announce)]
/// }
/// ```
///
/// On SIGTERM or SIGINT the services drain in reverse order (a service node leaves the
/// registries at once, refuses new calls, finishes those it holds for up to its grace period)
/// and the program exits 0. Exit codes: 64 for a bad command line (an unknown flag, named),
/// 78 for a bad topology file or configuration (`TopologyError`, `ConfigurationError`,
/// `SecurityError`), 1 for any other failure.
public enum NodeProgram {
    /// What ``run(label:_:)`` gives the code that makes the node.
    public struct Context {
        /// The command line, parsed.
        public let options: NodeOptions
        /// The topology file, loaded.
        public let topology: Topology
        /// The program's logger; its records carry `zmesh.node`.
        public let logger: Logger
        /// The node's name in the file.
        public var name: String { options.nodeName }
    }

    /// Exit code for a bad topology file or configuration (sysexits' EX_CONFIG).
    public static let configurationExitCode: Int32 = 78

    /// Unblocks SIGTERM and SIGINT, parses ``NodeOptions`` from the command line, bootstraps
    /// logging, loads the topology file, asks `makeServices` for the node (and anything to run
    /// beside it, first: services stop in reverse order), runs them until SIGTERM or SIGINT
    /// has drained them, and exits.
    ///
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - arguments: the command line without the program's name (default: the process's).
    ///   - makeServices: makes the services to run from the parsed context.
    public static func run(
        label: String,
        arguments: [String]? = nil,
        _ makeServices: (Context) async throws -> [any Service]
    ) async -> Never {
        ShutdownSignals.unblock()
        let options = ProgramCommand.parseOrExit(arguments).node
        let logger: Logger
        do {
            logger = try options.makeLogger(label: label)
        } catch {
            ProgramCommand.exit(withError: error)
        }
        let context: Context
        do {
            context = Context(options: options, topology: try options.loadTopology(), logger: logger)
        } catch {
            fail("\(error)", code: configurationExitCode)
        }
        let services: [any Service]
        do {
            services = try await makeServices(context)
        } catch let error as ConfigurationError {
            fail("node \(context.name): \(error)", code: configurationExitCode)
        } catch let error as SecurityError {
            fail("node \(context.name): \(error)", code: configurationExitCode)
        } catch {
            fail("node \(context.name): \(error)", code: 1)
        }
        do {
            try await runUntilShutdown(services, logger: logger)
        } catch {
            fail("node \(context.name): \(error)", code: 1)
        }
        logger.info("node stopped")
        exit(0)
    }

    /// Runs `services` in one `ServiceGroup` until SIGTERM or SIGINT, on which they shut
    /// down gracefully in reverse order (put a metrics endpoint first, so it is scraped while
    /// the node drains). Returns when every service has stopped; throws what a service threw.
    public static func runUntilShutdown(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("\(ProgramCommand.programName): \(message)\n".utf8))
        exit(code)
    }

    /// ``NodeOptions`` under the program's own name, for its usage and error messages.
    private struct ProgramCommand: ParsableCommand {
        static var programName: String {
            CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent } ?? "node"
        }

        static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: programName,
                                 abstract: "Run one node of a topology file until SIGTERM or SIGINT drains it.")
        }

        @OptionGroup var node: NodeOptions
    }
}
