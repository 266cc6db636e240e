//! System call names → numbers for the architecture being built.
//!
//! A profile names system calls; the kernel's filter sees numbers, and the numbers differ
//! from one architecture to the next (`read` is 0 on x86-64 and 63 on aarch64). The C
//! library's `SYS_*` constants are the table: the names both architectures have, then
//! those only x86-64 has (the old calls the generic table dropped: `open`, `fork`, `stat`).
//! A name not in the table (a 32-bit-only call such as `stat64`, or a call newer than the
//! libc crate) is skipped, as runc skips names libseccomp does not know.

macro_rules! table {
    ($($name:ident)*) => {
        &[$((stringify!($name), libc::$name as i64)),*]
    };
}

/// The calls both x86-64 and aarch64 have.
const COMMON: &[(&str, i64)] = table! {
    SYS_accept SYS_accept4 SYS_acct SYS_add_key SYS_adjtimex SYS_bind SYS_bpf SYS_brk
    SYS_capget SYS_capset SYS_chdir SYS_chroot SYS_clock_adjtime SYS_clock_getres
    SYS_clock_gettime SYS_clock_nanosleep SYS_clock_settime SYS_clone SYS_clone3 SYS_close
    SYS_close_range SYS_connect SYS_copy_file_range SYS_delete_module SYS_dup SYS_dup3
    SYS_epoll_create1 SYS_epoll_ctl SYS_epoll_pwait SYS_epoll_pwait2 SYS_eventfd2
    SYS_execve SYS_execveat SYS_exit SYS_exit_group SYS_faccessat SYS_faccessat2
    SYS_fadvise64 SYS_fallocate SYS_fanotify_init SYS_fanotify_mark SYS_fchdir SYS_fchmod
    SYS_fchmodat SYS_fchown SYS_fchownat SYS_fcntl SYS_fdatasync SYS_fgetxattr
    SYS_finit_module SYS_flistxattr SYS_flock SYS_fremovexattr SYS_fsconfig SYS_fsetxattr
    SYS_fsmount SYS_fsopen SYS_fspick SYS_fstat SYS_fstatfs SYS_fsync SYS_ftruncate
    SYS_futex SYS_futex_waitv SYS_get_mempolicy SYS_get_robust_list SYS_getcpu SYS_getcwd
    SYS_getdents64 SYS_getegid SYS_geteuid SYS_getgid SYS_getgroups SYS_getitimer
    SYS_getpeername SYS_getpgid SYS_getpid SYS_getppid SYS_getpriority SYS_getrandom
    SYS_getresgid SYS_getresuid SYS_getrusage SYS_getsid SYS_getsockname SYS_getsockopt
    SYS_gettid SYS_gettimeofday SYS_getuid SYS_getxattr SYS_init_module
    SYS_inotify_add_watch SYS_inotify_init1 SYS_inotify_rm_watch SYS_io_cancel
    SYS_io_destroy SYS_io_getevents SYS_io_setup SYS_io_submit SYS_io_uring_enter
    SYS_io_uring_register SYS_io_uring_setup SYS_ioctl SYS_ioprio_get SYS_ioprio_set
    SYS_kcmp SYS_kexec_file_load SYS_kexec_load SYS_keyctl SYS_kill SYS_landlock_add_rule
    SYS_landlock_create_ruleset SYS_landlock_restrict_self SYS_lgetxattr SYS_linkat
    SYS_listen SYS_listxattr SYS_llistxattr SYS_lookup_dcookie SYS_lremovexattr SYS_lseek
    SYS_lsetxattr SYS_madvise SYS_mbind SYS_membarrier SYS_memfd_create SYS_memfd_secret
    SYS_migrate_pages SYS_mincore SYS_mkdirat SYS_mknodat SYS_mlock SYS_mlock2 SYS_mlockall
    SYS_mmap SYS_mount SYS_mount_setattr SYS_move_mount SYS_move_pages SYS_mprotect
    SYS_mq_getsetattr SYS_mq_notify SYS_mq_open SYS_mq_timedreceive SYS_mq_timedsend
    SYS_mq_unlink SYS_mremap SYS_mseal SYS_msgctl SYS_msgget SYS_msgrcv SYS_msgsnd
    SYS_msync SYS_munlock SYS_munlockall SYS_munmap SYS_name_to_handle_at SYS_nanosleep
    SYS_newfstatat SYS_nfsservctl SYS_open_by_handle_at SYS_open_tree SYS_openat
    SYS_openat2 SYS_perf_event_open SYS_personality SYS_pidfd_getfd SYS_pidfd_open
    SYS_pidfd_send_signal SYS_pipe2 SYS_pivot_root SYS_pkey_alloc SYS_pkey_free
    SYS_pkey_mprotect SYS_ppoll SYS_prctl SYS_pread64 SYS_preadv SYS_preadv2 SYS_prlimit64
    SYS_process_madvise SYS_process_mrelease SYS_process_vm_readv SYS_process_vm_writev
    SYS_pselect6 SYS_ptrace SYS_pwrite64 SYS_pwritev SYS_pwritev2 SYS_quotactl
    SYS_quotactl_fd SYS_read SYS_readahead SYS_readlinkat SYS_readv SYS_reboot SYS_recvfrom
    SYS_recvmmsg SYS_recvmsg SYS_remap_file_pages SYS_removexattr SYS_renameat2
    SYS_request_key SYS_restart_syscall SYS_rseq SYS_rt_sigaction SYS_rt_sigpending
    SYS_rt_sigprocmask SYS_rt_sigqueueinfo SYS_rt_sigreturn SYS_rt_sigsuspend
    SYS_rt_sigtimedwait SYS_rt_tgsigqueueinfo SYS_sched_get_priority_max
    SYS_sched_get_priority_min SYS_sched_getaffinity SYS_sched_getattr SYS_sched_getparam
    SYS_sched_getscheduler SYS_sched_rr_get_interval SYS_sched_setaffinity
    SYS_sched_setattr SYS_sched_setparam SYS_sched_setscheduler SYS_sched_yield SYS_seccomp
    SYS_semctl SYS_semget SYS_semop SYS_semtimedop SYS_sendfile SYS_sendmmsg SYS_sendmsg
    SYS_sendto SYS_set_mempolicy SYS_set_mempolicy_home_node SYS_set_robust_list
    SYS_set_tid_address SYS_setdomainname SYS_setfsgid SYS_setfsuid SYS_setgid
    SYS_setgroups SYS_sethostname SYS_setitimer SYS_setns SYS_setpgid SYS_setpriority
    SYS_setregid SYS_setresgid SYS_setresuid SYS_setreuid SYS_setsid SYS_setsockopt
    SYS_settimeofday SYS_setuid SYS_setxattr SYS_shmat SYS_shmctl SYS_shmdt SYS_shmget
    SYS_shutdown SYS_sigaltstack SYS_signalfd4 SYS_socket SYS_socketpair SYS_splice
    SYS_statfs SYS_statx SYS_swapoff SYS_swapon SYS_symlinkat SYS_sync SYS_syncfs
    SYS_sysinfo SYS_syslog SYS_tee SYS_tgkill SYS_timer_create SYS_timer_delete
    SYS_timer_getoverrun SYS_timer_gettime SYS_timer_settime SYS_timerfd_create
    SYS_timerfd_gettime SYS_timerfd_settime SYS_times SYS_tkill SYS_truncate SYS_umask
    SYS_umount2 SYS_uname SYS_unlinkat SYS_unshare SYS_userfaultfd SYS_utimensat
    SYS_vhangup SYS_vmsplice SYS_wait4 SYS_waitid SYS_write SYS_writev
};

/// The calls only x86-64 has (the generic table of newer architectures dropped them).
#[cfg(target_arch = "x86_64")]
const ARCH_ONLY: &[(&str, i64)] = table! {
    SYS__sysctl SYS_access SYS_afs_syscall SYS_alarm SYS_arch_prctl SYS_chmod SYS_chown
    SYS_creat SYS_dup2 SYS_epoll_create SYS_epoll_ctl_old SYS_epoll_wait SYS_epoll_wait_old
    SYS_eventfd SYS_fchmodat2 SYS_fork SYS_futimesat SYS_get_thread_area SYS_getdents
    SYS_getpgrp SYS_getpmsg SYS_getrlimit SYS_inotify_init SYS_ioperm SYS_iopl SYS_lchown
    SYS_link SYS_lstat SYS_mkdir SYS_mknod SYS_modify_ldt SYS_open SYS_pause SYS_pipe
    SYS_poll SYS_putpmsg SYS_readlink SYS_rename SYS_renameat SYS_rmdir SYS_security
    SYS_select SYS_set_thread_area SYS_setrlimit SYS_signalfd SYS_stat SYS_symlink
    SYS_sync_file_range SYS_sysfs SYS_time SYS_tuxcall SYS_unlink SYS_uselib SYS_ustat
    SYS_utime SYS_utimes SYS_vfork SYS_vserver
};

#[cfg(target_arch = "aarch64")]
const ARCH_ONLY: &[(&str, i64)] = &[];

/// Calls the kernel has and the libc crate does not name (yet), with their numbers from
/// the kernel's `asm/unistd.h`.
#[cfg(target_arch = "x86_64")]
const MISSING_FROM_LIBC: &[(&str, i64)] = &[("io_pgetevents", 333)];
#[cfg(target_arch = "aarch64")]
const MISSING_FROM_LIBC: &[(&str, i64)] = &[("io_pgetevents", 292)];

/// The number of the system call `name` on this architecture, if it has one. Names are
/// given without the `SYS_` prefix, as profiles spell them.
pub fn number(name: &str) -> Option<i64> {
    let prefixed = COMMON
        .iter()
        .chain(ARCH_ONLY)
        .find(|(n, _)| n.strip_prefix("SYS_") == Some(name));
    prefixed.map(|(_, nr)| *nr).or_else(|| {
        MISSING_FROM_LIBC
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, nr)| *nr)
    })
}

/// The x32 ABI (x86-64 only): 32-bit pointers on the 64-bit entry. Its calls carry the
/// x86-64 arch value and this bit in the number; most have the x86-64 number under it.
pub const X32_SYSCALL_BIT: i64 = 0x4000_0000;

/// The x32 calls whose arguments hold pointers or structs of another size: they have
/// numbers of their own, from 512 (the kernel's syscall_64.tbl, ABI "x32").
const X32_OWN: &[(&str, i64)] = &[
    ("rt_sigaction", 512),
    ("rt_sigreturn", 513),
    ("ioctl", 514),
    ("readv", 515),
    ("writev", 516),
    ("recvfrom", 517),
    ("sendmsg", 518),
    ("recvmsg", 519),
    ("execve", 520),
    ("ptrace", 521),
    ("rt_sigpending", 522),
    ("rt_sigtimedwait", 523),
    ("rt_sigqueueinfo", 524),
    ("sigaltstack", 525),
    ("timer_create", 526),
    ("mq_notify", 527),
    ("kexec_load", 528),
    ("waitid", 529),
    ("set_robust_list", 530),
    ("get_robust_list", 531),
    ("vmsplice", 532),
    ("move_pages", 533),
    ("preadv", 534),
    ("pwritev", 535),
    ("rt_tgsigqueueinfo", 536),
    ("recvmmsg", 537),
    ("sendmmsg", 538),
    ("process_vm_readv", 539),
    ("process_vm_writev", 540),
    ("setsockopt", 541),
    ("getsockopt", 542),
    ("io_setup", 543),
    ("io_submit", 544),
    ("execveat", 545),
    ("preadv2", 546),
    ("pwritev2", 547),
];

/// x86-64 calls that the x32 table does not have at all (ABI "64" with no x32 twin).
const NOT_IN_X32: &[&str] = &[
    "_sysctl",
    "create_module",
    "epoll_ctl_old",
    "epoll_wait_old",
    "get_kernel_syms",
    "get_thread_area",
    "nfsservctl",
    "query_module",
    "set_thread_area",
    "uselib",
    "vserver",
];

/// The number (with [`X32_SYSCALL_BIT`]) of the system call `name` made through the x32
/// ABI, if x32 has it; `None` on other architectures than x86-64.
pub fn x32_number(name: &str) -> Option<i64> {
    if !cfg!(target_arch = "x86_64") || NOT_IN_X32.contains(&name) {
        return None;
    }
    let own = X32_OWN.iter().find(|(n, _)| *n == name).map(|(_, nr)| *nr);
    own.or_else(|| number(name)).map(|nr| X32_SYSCALL_BIT | nr)
}

#[cfg(test)]
mod tests {
    use super::{number, x32_number};

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x32_numbers_are_x86_64_numbers_with_bit_30_or_their_own() {
        assert_eq!(x32_number("mkdir"), Some(0x4000_0000 | 83));
        assert_eq!(x32_number("getpid"), Some(0x4000_0000 | 39));
        assert_eq!(x32_number("execve"), Some(0x4000_0000 | 520));
        assert_eq!(x32_number("ioctl"), Some(0x4000_0000 | 514));
        assert_eq!(x32_number("uselib"), None, "x32 has no uselib");
        assert_eq!(x32_number("stat64"), None);
    }

    #[test]
    fn names_map_to_this_architectures_numbers() {
        assert_eq!(number("read"), Some(libc::SYS_read));
        assert_eq!(number("clone3"), Some(libc::SYS_clone3));
        assert_eq!(number("personality"), Some(libc::SYS_personality));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(number("open"), Some(2));
        assert_eq!(
            number("stat64"),
            None,
            "a 32-bit-only call has no number here"
        );
        assert_eq!(number("no_such_call"), None);
    }
}
