//! The calling thread's capability sets, as capget(2) reports them: one system call, no
//! file to open, so it still answers where a seccomp filter or a missing /proc would not.

use nix::errno::Errno;

/// The effective, permitted and inheritable sets, one bit per capability number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapabilitySets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// Reads the calling thread's sets with capget(2).
pub fn capability_sets() -> std::result::Result<CapabilitySets, Errno> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    let mut header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3: two 32-bit halves per set
        pid: 0,
    };
    // Per half: effective, permitted, inheritable.
    let mut data = [[0u32; 3]; 2];
    // SAFETY: header and data have the layout capget(2) expects and outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    let whole = |i: usize| u64::from(data[0][i]) | u64::from(data[1][i]) << 32;
    Ok(CapabilitySets {
        effective: whole(0),
        permitted: whole(1),
        inheritable: whole(2),
    })
}
