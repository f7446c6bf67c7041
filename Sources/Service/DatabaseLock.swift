#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive hold on a database for one running service: two instances
/// writing one archive would each believe they own the rooms. The lock is a
/// `flock` on `<database>.lock`, so the command-line tools, which only read or
/// back up, can still open the database while the service runs; the kernel
/// drops the lock when the process ends, however it ends.
public final class DatabaseLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock, or throws when another process holds it.
    public init(database: String) throws(ServiceError) {
        path = database + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ServiceError.databaseUnavailable("\(path): cannot create the lock file (errno \(errno))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw ServiceError.databaseLocked(database)
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
