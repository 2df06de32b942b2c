import Foundation
import Testing
import ZMeshTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The helper every process test starts its children with (in place of Foundation's
/// `Process`, whose `run()` crashes now and then on Linux with Swift 6.3.1).
@Suite("Spawned processes")
struct SpawnedProcessTests {
    @Test func anExitCodeAndASignalAreToldApart() async throws {
        let exited = try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", "exit 3"])
        #expect(await exited.waitForExit(timeout: .seconds(30)) == 3)
        #expect(exited.endedBySignal == false)

        let sleeper = try SpawnedProcess(executable: "/bin/sleep", arguments: ["30"])
        #expect(sleeper.isRunning)
        #expect(sleeper.terminationStatus == nil)
        sleeper.signal(SIGTERM)
        #expect(await sleeper.waitForExit(timeout: .seconds(30)) == SIGTERM)
        #expect(sleeper.endedBySignal == true)
    }

    /// A descriptor this process holds open (as it holds its sockets) does not leak into the
    /// child: a child holding a test's listening socket or pipe end would keep it alive.
    @Test func theChildInheritsNoDescriptorAboveStandardError() async throws {
        let held = open("/dev/null", O_RDONLY)   // no O_CLOEXEC, as a leaked descriptor would be
        #expect(held > 2)
        defer { close(held) }
        let probe = try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", "test -e /proc/self/fd/\(held)"])
        #expect(await probe.waitForExit(timeout: .seconds(30)) == 1, "descriptor \(held) reached the child")
    }

    @Test func standardStreamsGoWhereTheyAreSent() async throws {
        let directory = FileManager.default.temporaryDirectory
        let output = directory.appendingPathComponent("zmesh-spawn-\(UUID().uuidString).out")
        let input = directory.appendingPathComponent("zmesh-spawn-\(UUID().uuidString).in")
        defer { try? FileManager.default.removeItem(at: output); try? FileManager.default.removeItem(at: input) }
        try Data("from a file\n".utf8).write(to: input)
        let child = try SpawnedProcess(
            executable: "/bin/sh", arguments: ["-c", "cat; echo \"$GREETING\" >&2"],
            environment: ["GREETING": "to standard error"],
            standardInput: .file(input.path), standardOutput: .file(output.path), standardError: .standardOutput)
        #expect(await child.waitForExit(timeout: .seconds(30)) == 0)
        #expect(try String(contentsOf: output, encoding: .utf8) == "from a file\nto standard error\n")
    }

    @Test func anExecutableThatIsNotThereIsAnErrorOrExit127() async throws {
        // posix_spawnp reports a missing program either at once or as the child's exit 127.
        do {
            let child = try SpawnedProcess(executable: "/nonexistent/zmesh-nothing", arguments: [])
            #expect(await child.waitForExit(timeout: .seconds(30)) == 127)
        } catch {
            #expect("\(error)".contains("/nonexistent/zmesh-nothing"))
        }
    }
}
