//! Unprivileged: the library's table of the eight namespace kinds matches the kernel's
//! names, flags and /proc paths.

use nix::sched::CloneFlags;
use rstest::rstest;
use workbook::namespace::{Namespace, Namespaces};

#[rstest]
#[case(Namespace::Mount, "mnt", libc::CLONE_NEWNS)]
#[case(Namespace::Pid, "pid", libc::CLONE_NEWPID)]
#[case(Namespace::Net, "net", libc::CLONE_NEWNET)]
#[case(Namespace::Ipc, "ipc", libc::CLONE_NEWIPC)]
#[case(Namespace::Uts, "uts", libc::CLONE_NEWUTS)]
#[case(Namespace::User, "user", libc::CLONE_NEWUSER)]
#[case(Namespace::Cgroup, "cgroup", libc::CLONE_NEWCGROUP)]
#[case(Namespace::Time, "time", libc::CLONE_NEWTIME)]
fn each_kind_has_its_name_flag_and_path(
    #[case] kind: Namespace,
    #[case] name: &str,
    #[case] flag: libc::c_int,
) {
    assert_eq!(kind.name(), name);
    assert_eq!(kind.clone_flag().bits(), flag);
    assert_eq!(Namespace::from_name(name), Some(kind));
    assert_eq!(
        kind.proc_path(None).to_str(),
        Some(format!("/proc/self/ns/{name}").as_str())
    );
    assert_eq!(
        kind.proc_path(Some(nix::unistd::Pid::from_raw(42)))
            .to_str(),
        Some(format!("/proc/42/ns/{name}").as_str())
    );
    // The file exists on this kernel and names a namespace of this kind.
    let link = std::fs::read_link(kind.proc_path(None)).expect("readlink /proc/self/ns/*");
    assert!(link.to_string_lossy().starts_with(&format!("{name}:[")));
}

#[test]
fn there_are_eight_distinct_kinds() {
    let mut names: Vec<_> = Namespace::ALL.iter().map(|k| k.name()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 8);
    // The kernel lists exactly these (plus the *_for_children links) in /proc/self/ns.
    let mut kernel: Vec<String> = std::fs::read_dir("/proc/self/ns")
        .expect("list /proc/self/ns")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("_for_children"))
        .collect();
    kernel.sort();
    assert_eq!(kernel, names);
}

#[test]
fn the_time_flag_is_left_out_of_clone() {
    let set = Namespaces::all();
    assert!(set.contains(Namespace::Time));
    // CLONE_NEWTIME's bits are clone(2)'s exit-signal bits: the set never passes it to
    // clone.
    assert!(!set
        .clone_flags()
        .contains(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)));
    assert_eq!(set.iter().count(), 8);
    let two = Namespaces::of(&[Namespace::Pid, Namespace::Uts]);
    assert_eq!(
        two.clone_flags(),
        CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWUTS
    );
    assert!(!two.without(Namespace::Pid).contains(Namespace::Pid));
}
