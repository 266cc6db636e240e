//! Loading the device program and attaching it to a cgroup: two calls of bpf(2).
//!
//! libc has no wrapper for bpf(2), so it is called by number with the command's part of
//! `union bpf_attr` (linux/bpf.h) laid out as a C struct. The kernel accepts a shorter
//! union than its own, as long as it knows every field we pass.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::list::DeviceAllowList;
use super::program::{self, Insn};
use crate::{Error, Result};

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
/// `enum bpf_prog_type`: BPF_PROG_TYPE_CGROUP_DEVICE (Linux 4.15).
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `enum bpf_attach_type`: BPF_CGROUP_DEVICE.
const BPF_CGROUP_DEVICE: u32 = 6;
/// Attach next to programs already there (systemd puts its own on the cgroups it manages):
/// every program on the path from the root to the cgroup must allow an access.
const BPF_F_ALLOW_MULTI: u32 = 2;
/// Room for the verifier's explanation when it refuses the program.
const LOG_SIZE: usize = 64 * 1024;

/// The BPF_PROG_LOAD part of `union bpf_attr`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The BPF_PROG_ATTACH part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> std::result::Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a live, initialised repr(C) struct of the size we pass; the kernel
    // reads it (and for PROG_LOAD writes only into the log buffer it points to).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    crate::error::syscall_result(rc)
}

/// Hands the program to the kernel, whose verifier checks it (every path ends in `exit`, r0
/// is 0 or 1, only the context is read). Returns the program's fd; on refusal, the error
/// carries the verifier's log.
pub fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let license = c"GPL";
    let mut log = vec![0u8; LOG_SIZE];
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(b"workbook");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: LOG_SIZE as u32,
        log_buf: log.as_mut_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..ProgLoadAttr::default()
    };
    let fd = bpf(BPF_PROG_LOAD, &mut attr).map_err(|errno| refused(errno, &log))?;
    // SAFETY: a successful BPF_PROG_LOAD returns a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The error for a refused program, in one line: the last lines of the verifier's log (it
/// traces every instruction; the end says what was wrong).
fn refused(errno: Errno, log: &[u8]) -> Error {
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let said = lines[lines.len().saturating_sub(3)..].join("; ");
    let what = if said.is_empty() {
        "loading the device program (BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE)"
            .to_string()
    } else {
        format!("loading the device program (the verifier said: {said})")
    };
    Error::sys("bpf", what, errno)
}

/// Builds the program for `list`, loads it and attaches it to the cgroup v2 directory
/// `dir`. From then on the kernel runs it for every process in the cgroup and below. The
/// cgroup holds a reference to the attached program, so its fd is closed on return;
/// removing the cgroup frees it.
pub fn attach(dir: &Path, list: &DeviceAllowList) -> Result<()> {
    let prog = load(&program::build(list))?;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let cgroup = nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty())
        .map_err(|e| Error::sys_path("open", "opening the cgroup", dir, e))?;
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..ProgAttachAttr::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|e| {
        Error::sys_path(
            "bpf",
            "attaching the device program (BPF_PROG_ATTACH, BPF_CGROUP_DEVICE)",
            dir,
            e,
        )
    })?;
    Ok(())
}
