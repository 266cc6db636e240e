/// Sets `no_new_privs`: from now on execve(2) never grants privileges this process lacks
/// (setuid bits and file capabilities are ignored). It also lets an unprivileged process
/// install a seccomp filter. `NoNewPrivs: 1` in /proc/self/status shows it.
pub fn set_no_new_privs() -> Result<()> {
    todo!("exercise 07.1")
}
