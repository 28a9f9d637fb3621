import NIOCore

/// Runs tasks on a NIO event loop: a task that spends its life awaiting HTTP answers from
/// that loop resumes where the answer arrived instead of hopping to the global pool and back
/// (two thread switches per call). Work on it must not block: it shares the thread with the
/// connections' I/O.
public final class EventLoopTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    public init(_ loop: any EventLoop) {
        self.loop = loop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
