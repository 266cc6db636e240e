/// Passes `signal` on to the child `pid`. Returns the signal when the child, being PID 1
/// without a handler for it, had to be ended with SIGKILL instead.
fn forward(pid: nix::unistd::Pid, signal: Signal, is_init: bool) -> Option<Signal> {
    use nix::sys::signal::kill;

    if is_init && !catches(pid, signal) {
        // PID 1 would silently drop this signal: end it the only way the kernel allows.
        let _ = kill(pid, Signal::SIGKILL);
        Some(signal)
    } else {
        let _ = kill(pid, signal);
        None
    }
}
