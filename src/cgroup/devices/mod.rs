//! The device allow-list: which device nodes a container may open.
//!
//! A device node is a file that names a driver by two numbers; opening it reaches the
//! driver, whatever the path. Root in a container holds CAP_MKNOD (one of Docker's 14
//! default capabilities), so it can make `/l0` as block device 7:0 and read the host's loop
//! device through it, or find such a node ready-made in an image. Namespaces do not help:
//! device numbers are not namespaced. What stops it is the device cgroup: the kernel asks
//! it on every mknod(2) and every open of a device node, and refuses with EPERM what it
//! does not allow.
//!
//! * cgroup v1: the `devices` controller, a list in files: write `a` to `devices.deny`,
//!   then each allowed rule to `devices.allow` (`cgroup::v1::device_steps`).
//! * cgroup v2: no files; a small eBPF program of type `BPF_PROG_TYPE_CGROUP_DEVICE`
//!   attached to the cgroup's directory ([`program::build`], [`bpf::attach`]).
//!
//! The kernel runs both checks on every machine: first the BPF programs of the process's
//! cgroup2 cgroup (which exists even in the hybrid layout, at /sys/fs/cgroup/unified), then
//! the v1 list when the devices controller is mounted.

pub mod bpf;
pub mod list;
pub mod program;
pub mod rule;

pub use list::DeviceAllowList;
pub use rule::{Access, DeviceKind, DeviceRule};
