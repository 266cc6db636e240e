//! The OCI seccomp profile: the filter an engine hands the runtime in config.json.
//!
//! Chapter 7 wrote its own small filter. An engine brings a whole profile instead (podman's
//! default lists about 400 calls, with argument checks for `personality`, and its default
//! answer for the rest is ENOSYS). The work splits in two, as the child's rules demand:
//!
//! - [`OciSeccomp::from_json`], in the runtime before the clone: parse, look the names up,
//!   compile to BPF with seccompiler (a maintained builder: a large filter by hand is where
//!   jump offsets go wrong). Everything that allocates happens here.
//! - [`OciSeccomp::install`], in the child right before exec: chapter 7's install (or
//!   seccomp(2), for a flag) on programs that already exist, so it allocates nothing on
//!   its way to success.
//!
//! Architectures: the filter is built for the architecture the runtime was built for, and
//! its first instructions check `seccomp_data.arch`. A profile may list others (podman lists
//! SCMP_ARCH_X86 on x86-64): runc then adds a section for it, we do not. A call made
//! through another architecture's entry (`int 0x80` from a 32-bit program) kills the
//! process: a 32-bit program does not run under this runtime's filter, which is safe, and
//! said in the book. x32 calls carry the x86-64 arch value with bit 30 set in the number,
//! and are handled as libseccomp handles them (compile.rs): with SCMP_ARCH_X32 listed, the
//! rules apply to the x32 numbers of their names too; without, an x32 call is killed.
//!
//! Refused by name: a listener (`listenerPath`, SCMP_ACT_NOTIFY) and flags other than
//! TSYNC, LOG and SPEC_ALLOW.

mod compile;
mod filter;
mod profile;
mod syscalls;

use nix::errno::Errno;

use crate::security::seccomp;
use crate::{Error, Result};

pub use filter::{check, Filter, ENABLED};
pub use syscalls::number as syscall_number;

/// A profile compiled for this architecture, ready to install.
#[derive(Debug)]
pub struct OciSeccomp {
    /// The BPF programs, in the order they are installed (see compile.rs on why several).
    programs: Vec<Vec<libc::sock_filter>>,
    /// seccomp(2)'s flags for each program.
    flags: libc::c_ulong,
    /// Names of the profile that have no number on this architecture.
    skipped: Vec<String>,
}

impl OciSeccomp {
    /// Parses and compiles config.json's `linux.seccomp`.
    pub fn from_json(value: &serde_json::Value) -> Result<OciSeccomp> {
        let profile = profile::Profile::from_json(value)?;
        if let Some(path) = &profile.listener_path {
            return Err(Error::Invalid(format!(
                "linux.seccomp.listenerPath ({path}) asks for seccomp user notification, \
                 which this runtime does not support"
            )));
        }
        if profile.listener_metadata.is_some() {
            return Err(Error::Invalid(
                "linux.seccomp.listenerMetadata belongs to a listener, which this runtime \
                 does not support"
                    .into(),
            ));
        }
        for arch in profile.architectures.iter().flatten() {
            check_architecture(arch)?;
        }
        let mut flags = 0;
        for flag in profile.flags.iter().flatten() {
            flags |= filter_flag(flag)?;
        }
        let compiled = compile::compile(&profile)?;
        Ok(OciSeccomp {
            programs: compiled.programs,
            flags,
            skipped: compiled.skipped,
        })
    }

    /// Installs the filters on the calling thread (and, through exec, on the program). The
    /// kernel requires no_new_privs or CAP_SYS_ADMIN first. Without flags each program goes
    /// in through chapter 7's [`seccomp::install`] (exercise 07.3); only a flag, which
    /// prctl(2) cannot carry, needs seccomp(2) itself.
    pub fn install(&self) -> Result<()> {
        if self.flags == 0 {
            return self.programs.iter().try_for_each(|p| seccomp::install(p));
        }
        self.install_raw().map_err(|errno| {
            Error::sys(
                "seccomp(SECCOMP_SET_MODE_FILTER)",
                "installing the OCI seccomp profile",
                errno,
            )
        })
    }

    /// Installs the filters through seccomp(2) with the profile's flags, returning the bare
    /// errno: for a forked child of a threaded test, which must not allocate even to fail.
    pub fn install_raw(&self) -> std::result::Result<(), Errno> {
        for program in &self.programs {
            install_with_flags(program, self.flags)?;
        }
        Ok(())
    }

    /// How many BPF programs the profile became.
    pub fn programs(&self) -> usize {
        self.programs.len()
    }

    /// The instructions of all programs together (the kernel allows 32768 per process).
    pub fn instructions(&self) -> usize {
        self.programs.iter().map(Vec::len).sum()
    }

    /// The profile's names that this architecture has no number for (skipped).
    pub fn skipped_names(&self) -> &[String] {
        &self.skipped
    }
}

/// seccomp(2) with `flags` (TSYNC, LOG, SPEC_ALLOW), which prctl(PR_SET_SECCOMP) has no
/// argument for; otherwise the same call as chapter 7's.
fn install_with_flags(
    program: &[libc::sock_filter],
    flags: libc::c_ulong,
) -> std::result::Result<(), Errno> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    let mode = libc::SECCOMP_SET_MODE_FILTER;
    // SAFETY: prog points at `program`, which outlives the call; the kernel copies it.
    let rc = unsafe { libc::syscall(libc::SYS_seccomp, mode, flags, &prog) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// The architecture this runtime was built for, as profiles name it.
pub const NATIVE_ARCH: &str = if cfg!(target_arch = "x86_64") {
    "SCMP_ARCH_X86_64"
} else {
    "SCMP_ARCH_AARCH64"
};

/// The actions a rule (or the default) may take, as `features` lists them: the spec's, but
/// SCMP_ACT_NOTIFY (no listener here). compile.rs maps each to the kernel's.
pub const ACTIONS: [&str; 8] = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// The comparisons of an argument check, as `features` lists them (all the spec's).
pub const OPERATORS: [&str; 7] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// The `flags` accepted (`filter_flag`), as `features` lists them.
pub const FLAGS: [&str; 3] = [
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_TSYNC",
];

/// Architectures libseccomp knows. The native one (and x32 on x86-64) is filtered; the
/// others are accepted in the list and their calls killed (see the module comment).
pub const KNOWN_ARCHES: [&str; 19] = [
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
];

fn check_architecture(name: &str) -> Result<()> {
    if KNOWN_ARCHES.contains(&name) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "the seccomp architecture {name} is not one the runtime spec names"
        )))
    }
}

fn filter_flag(name: &str) -> Result<libc::c_ulong> {
    match name {
        // One thread in the child: synchronising threads changes nothing, and is harmless.
        "SECCOMP_FILTER_FLAG_TSYNC" => Ok(libc::SECCOMP_FILTER_FLAG_TSYNC),
        "SECCOMP_FILTER_FLAG_LOG" => Ok(libc::SECCOMP_FILTER_FLAG_LOG),
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => Ok(libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW),
        other => Err(Error::Invalid(format!(
            "the seccomp flag {other} is not supported by this runtime (TSYNC, LOG and \
             SPEC_ALLOW are)"
        ))),
    }
}

#[cfg(test)]
mod tests;
