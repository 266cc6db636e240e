//! A seccomp filter: a small BPF program the kernel runs on every system call of the
//! process.
//!
//! The program sees `struct seccomp_data` (syscall number, architecture, arguments) and
//! returns an action: allow, or fail with an errno. Ours denies, with EPERM, what container
//! runtimes deny by default — calls that reach past the container into the shared kernel
//! (modules, kexec, reboot, swap, keyrings, BPF, perf, io_uring), mount calls, reading
//! another process's memory, and new user namespaces — and allows the rest.
//!
//! The traps: the architecture must be checked first (syscall numbers differ between ABIs,
//! and a filter for x86-64 numbers would let i386 `int 0x80` calls through), and on x86-64
//! the x32 ABI uses the same architecture value with bit 30 set in the number.

use crate::Result;

/// What the filter does with one system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Always fail with EPERM.
    Deny(i64),
    /// Fail with EPERM when the first argument has these flag bits set (unshare, clone).
    DenyWithFlags(i64, u32),
    /// Fail with ENOSYS, so that the C library falls back to an older call we can inspect.
    NotImplemented(i64),
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64

/// The x32 ABI's bit in the syscall number (x86-64 only).
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The default rules. Numbers come from libc for the architecture being built.
pub fn default_rules() -> Vec<Rule> {
    use libc::*;
    let mut rules: Vec<Rule> = [
        SYS_kexec_load,
        SYS_kexec_file_load,
        SYS_init_module,
        SYS_finit_module,
        SYS_delete_module,
        SYS_reboot,
        SYS_swapon,
        SYS_swapoff,
        SYS_mount,
        SYS_umount2,
        SYS_pivot_root,
        SYS_fsopen,
        SYS_fsconfig,
        SYS_fsmount,
        SYS_fspick,
        SYS_move_mount,
        SYS_open_tree,
        SYS_setns,
        SYS_keyctl,
        SYS_add_key,
        SYS_request_key,
        SYS_bpf,
        SYS_perf_event_open,
        SYS_ptrace,
        SYS_open_by_handle_at,
        SYS_userfaultfd,
        SYS_acct,
        // io_uring: a second way into the kernel, whose queued operations (reads, writes,
        // socket calls) the kernel performs without a system call this filter could see,
        // and the source of many kernel exploits. Docker's profile refuses it since 2023.
        SYS_io_uring_setup,
        SYS_io_uring_enter,
        SYS_io_uring_register,
        // Comparing another process's kernel objects, reading or writing its memory, taking
        // a copy of one of its fds, advising on its memory: ptrace's powers. Docker allows
        // kcmp, pidfd_getfd and process_madvise only with CAP_SYS_PTRACE, but ptrace and
        // process_vm_* to everyone on Linux 4.8+; a container that runs a program, not a
        // debugger, needs none of them, so this filter is stricter.
        SYS_kcmp,
        SYS_process_vm_readv,
        SYS_process_vm_writev,
        SYS_pidfd_getfd,
        SYS_process_madvise,
    ]
    .into_iter()
    .map(Rule::Deny)
    .collect();
    #[cfg(target_arch = "x86_64")]
    rules.extend([Rule::Deny(SYS_iopl), Rule::Deny(SYS_ioperm)]);
    rules.extend([
        Rule::DenyWithFlags(SYS_unshare, CLONE_NEWUSER as u32),
        Rule::DenyWithFlags(SYS_clone, CLONE_NEWUSER as u32),
        // clone3 passes its flags in a struct the filter cannot read: answer ENOSYS, and
        // the C library falls back to clone(2), whose flags we can check.
        Rule::NotImplemented(SYS_clone3),
    ]);
    rules
}

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// Compiles `rules` into a BPF program.
pub fn compile(rules: &[Rule]) -> Vec<libc::sock_filter> {
    use libc::{
        BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W,
        ENOSYS, EPERM, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO,
    };
    const NR: u32 = 0; // offsetof(struct seccomp_data, nr)
    const ARCH: u32 = 4; // offsetof(struct seccomp_data, arch)
    const ARG0: u32 = 16; // offsetof(struct seccomp_data, args[0]), low half on little-endian
    let deny = stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM as u32);
    let allow = stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    let mut p = vec![
        // A foreign architecture: refuse everything.
        stmt(BPF_LD | BPF_W | BPF_ABS, ARCH),
        jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        deny,
        stmt(BPF_LD | BPF_W | BPF_ABS, NR),
    ];
    if cfg!(target_arch = "x86_64") {
        // x32 calls: same arch value, numbers with bit 30 set.
        p.extend([jump(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1), deny]);
    }
    for rule in rules {
        match *rule {
            Rule::Deny(nr) => {
                p.extend([jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1), deny])
            }
            Rule::NotImplemented(nr) => p.extend([
                jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1),
                stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS as u32),
            ]),
            Rule::DenyWithFlags(nr, flags) => p.extend([
                jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 4),
                stmt(BPF_LD | BPF_W | BPF_ABS, ARG0),
                jump(BPF_JMP | BPF_JSET | BPF_K, flags, 0, 1),
                deny,
                allow,
            ]),
        }
    }
    p.push(allow);
    p
}

/// Installs the default filter on the calling thread (and, through exec, on the command).
/// The kernel requires no_new_privs (or CAP_SYS_ADMIN) first.
pub fn install_default_filter() -> Result<()> {
    install(&compile(&default_rules()))
}

/// Installs a compiled program.
pub fn install(program: &[libc::sock_filter]) -> Result<()> {
    // exercise 07.3: install a seccomp filter program on the calling thread
    use crate::error::syscall_result;
    use crate::Error;

    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `program`, which outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        )
    };
    syscall_result(rc).map_err(|e| {
        Error::sys("prctl(PR_SET_SECCOMP)", "installing the seccomp filter", e)
    })?;
    Ok(())
    // end of exercise 07.3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_ends_in_allow_and_fits_the_kernel_limit() {
        let p = compile(&default_rules());
        assert!(p.len() < 4096, "BPF_MAXINSNS");
        let last = p.last().expect("instructions");
        assert_eq!(last.k, libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn jumps_stay_inside_the_program() {
        let p = compile(&default_rules());
        for (i, ins) in p.iter().enumerate() {
            let is_jump = (ins.code as u32 & 0x07) == libc::BPF_JMP;
            if is_jump {
                assert!(
                    i + 1 + (ins.jt.max(ins.jf) as usize) < p.len(),
                    "jump at {i}"
                );
            }
        }
    }
}
