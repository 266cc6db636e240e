//! Unprivileged tests: profiles are parsed, refused or compiled, and the compiled programs
//! are run by a small classic-BPF interpreter that combines several filters the way the
//! kernel does (the privileged tests/oci_seccomp.rs asks the kernel itself).

use serde_json::json;

use super::OciSeccomp;

const PODMAN: &str = include_str!("../../../tests/fixtures/podman-seccomp.json");

fn podman() -> OciSeccomp {
    let value: serde_json::Value = serde_json::from_str(PODMAN).expect("fixture is JSON");
    OciSeccomp::from_json(&value).expect("podman's profile compiles")
}

/// What the kernel answers for a call: every program runs, the answer of highest
/// precedence wins (the lowest action as a signed number), on a tie the later filter's.
fn verdict(seccomp: &OciSeccomp, nr: i64, args: [u64; 6]) -> u32 {
    let action = |ret: u32| (ret & 0xffff_0000) as i32;
    let mut ret = libc::SECCOMP_RET_ALLOW;
    for program in seccomp.programs.iter().rev() {
        let cur = run(program, nr, args);
        if action(cur) < action(ret) {
            ret = cur;
        }
    }
    ret
}

/// The instructions seccompiler emits, interpreted over a `struct seccomp_data`.
fn run(program: &[libc::sock_filter], nr: i64, args: [u64; 6]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xc000_003e;
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xc000_00b7;
    let word = |off: u32| -> u32 {
        match off {
            0 => nr as u32,
            4 => ARCH,
            16..=63 => {
                let arg = args[(off as usize - 16) / 8];
                if off % 8 == 0 {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                }
            }
            _ => panic!("load from offset {off}"),
        }
    };
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let ins = &program[pc];
        let code = ins.code as u32;
        pc += 1;
        match code {
            c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => acc = word(ins.k),
            c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => acc &= ins.k,
            c if c == libc::BPF_RET | libc::BPF_K => return ins.k,
            c if c == libc::BPF_JMP | libc::BPF_JA => pc += ins.k as usize,
            c => {
                let taken = match c & !(libc::BPF_JMP | libc::BPF_K) {
                    x if x == libc::BPF_JEQ => acc == ins.k,
                    x if x == libc::BPF_JGT => acc > ins.k,
                    x if x == libc::BPF_JGE => acc >= ins.k,
                    x if x == libc::BPF_JSET => acc & ins.k != 0,
                    _ => panic!("instruction {code:#x} at {}", pc - 1),
                };
                pc += if taken { ins.jt } else { ins.jf } as usize;
            }
        }
    }
}

fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

#[test]
fn podmans_profile_compiles_into_a_base_filter_and_one_per_other_action() {
    let s = podman();
    // Base (ALLOW for listed calls, ENOSYS otherwise) + ERRNO(EPERM) for the denied list.
    // With SCMP_ARCH_X32 listed, the base is one program per ABI (one would not fit in 4096).
    #[cfg(target_arch = "x86_64")]
    assert_eq!(s.programs(), 3);
    #[cfg(not(target_arch = "x86_64"))]
    assert_eq!(s.programs(), 2);
    assert!(s.instructions() < 32768, "the kernel's limit per process");
    assert!(s.programs.iter().all(|p| p.len() < 4096), "BPF_MAXINSNS");
    let skipped = s.skipped_names();
    assert!(skipped.iter().any(|n| n == "stat64"), "{skipped:?}");
    assert!(
        !skipped.iter().any(|n| n == "read" || n == "clone3"),
        "{skipped:?}"
    );
}

#[test]
fn podmans_profile_answers_as_its_rules_say() {
    let s = podman();
    let none = [0u64; 6];
    assert_eq!(verdict(&s, libc::SYS_getpid, none), libc::SECCOMP_RET_ALLOW);
    assert_eq!(verdict(&s, libc::SYS_setns, none), errno(libc::EPERM));
    assert_eq!(verdict(&s, libc::SYS_bpf, none), errno(libc::EPERM));
    // Not listed at all: the default, defaultErrnoRet ENOSYS.
    assert_eq!(verdict(&s, libc::SYS_add_key, none), errno(libc::ENOSYS));
    // personality: allowed for the listed personas only.
    let persona = |p: u64| verdict(&s, libc::SYS_personality, [p, 0, 0, 0, 0, 0]);
    assert_eq!(persona(0), libc::SECCOMP_RET_ALLOW);
    assert_eq!(persona(0xffff_ffff), libc::SECCOMP_RET_ALLOW);
    assert_eq!(persona(0x0004_0000), errno(libc::ENOSYS));
    // A 64-bit comparison: the high half counts too.
    assert_eq!(persona(0x1_0000_0000), errno(libc::ENOSYS));
}

#[test]
fn conditions_in_one_rule_all_hold_and_masked_eq_masks() {
    let s = OciSeccomp::from_json(&json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
                {"index": 0, "value": 7, "op": "SCMP_CMP_EQ"},
                {"index": 2, "value": 0xff00, "valueTwo": 0x3000, "op": "SCMP_CMP_MASKED_EQ"}
            ]},
            {"names": ["dup3"], "action": "SCMP_ACT_KILL_PROCESS", "args": [
                {"index": 2, "value": 0xff00, "valueTwo": 0x3001, "op": "SCMP_CMP_MASKED_EQ"}
            ]},
            {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["getpgid"], "action": "SCMP_ACT_TRAP",
             "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_GT"}]},
            {"names": ["getsid"], "action": "SCMP_ACT_LOG"},
            {"names": ["no_such_call"], "action": "SCMP_ACT_KILL"}
        ]
    }))
    .expect("compiles");
    let dup3 = |a: u64, c: u64| verdict(&s, libc::SYS_dup3, [a, 0, c, 0, 0, 0]);
    assert_eq!(dup3(7, 0x3012), errno(libc::EACCES));
    assert_eq!(
        dup3(7, 0x4012),
        libc::SECCOMP_RET_ALLOW,
        "masked bits differ"
    );
    assert_eq!(
        dup3(7, 0x3f00),
        libc::SECCOMP_RET_ALLOW,
        "bits inside the mask differ"
    );
    // valueTwo 0x3001 has a bit outside its mask 0xff00: the kill rule never matches.
    assert_eq!(dup3(9, 0x3001), libc::SECCOMP_RET_ALLOW);
    assert_eq!(
        dup3(8, 0x3012),
        libc::SECCOMP_RET_ALLOW,
        "one condition is not enough"
    );
    let none = [0u64; 6];
    assert_eq!(
        verdict(&s, libc::SYS_getppid, none),
        libc::SECCOMP_RET_KILL_PROCESS
    );
    let pgid = |p: u64| verdict(&s, libc::SYS_getpgid, [p, 0, 0, 0, 0, 0]);
    assert_eq!(pgid(6), libc::SECCOMP_RET_TRAP);
    assert_eq!(pgid(5), libc::SECCOMP_RET_ALLOW);
    assert_eq!(verdict(&s, libc::SYS_getsid, none), libc::SECCOMP_RET_LOG);
    assert_eq!(s.skipped_names(), ["no_such_call"]);
}

#[test]
fn the_strongest_action_wins_when_rules_overlap() {
    let s = OciSeccomp::from_json(&json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["getpid", "getuid"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getuid"], "action": "SCMP_ACT_KILL_THREAD"}
        ]
    }))
    .expect("compiles");
    let none = [0u64; 6];
    assert_eq!(verdict(&s, libc::SYS_getpid, none), libc::SECCOMP_RET_ALLOW);
    assert_eq!(
        verdict(&s, libc::SYS_getuid, none),
        libc::SECCOMP_RET_KILL_THREAD
    );
    assert_eq!(
        verdict(&s, libc::SYS_getgid, none),
        errno(libc::EPERM),
        "EPERM by default"
    );
}

#[test]
fn what_it_cannot_honour_is_refused_by_name() {
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "bogus": 1}),
            "bogus",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock"}),
            "listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
            "SCMP_ACT_NOTIFY",
        ),
        (json!({"defaultAction": "SCMP_ACT_MAYBE"}), "SCMP_ACT_MAYBE"),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}),
            "SECCOMP_FILTER_FLAG_NEW_LISTENER",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}),
            "SCMP_ARCH_Z80",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["dup"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "index is 6",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["dup"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}),
            "SCMP_CMP_ABOUT",
        ),
    ];
    for (value, word) in cases {
        let err = OciSeccomp::from_json(&value).expect_err(word).to_string();
        assert!(err.contains(word), "{word}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn conditions_on_one_argument_are_alternatives_as_runc_makes_them() {
    // runc: once two conditions name the same argument, each is a rule of its own.
    let s = OciSeccomp::from_json(&json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
                {"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}
            ]},
            // Same argument twice, so also the other argument's condition stands alone.
            {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 14, "args": [
                {"index": 0, "value": 7, "op": "SCMP_CMP_EQ"},
                {"index": 2, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 2, "value": 2, "op": "SCMP_CMP_EQ"},
                // Can never hold (valueTwo outside the mask): drops out of the OR.
                {"index": 2, "value": 0xff00, "valueTwo": 0x1, "op": "SCMP_CMP_MASKED_EQ"}
            ]}
        ]
    }))
    .expect("compiles");
    #[cfg(target_arch = "x86_64")]
    {
        let mkdir = |mode: u64| verdict(&s, libc::SYS_mkdir, [0, mode, 0, 0, 0, 0]);
        assert_eq!(mkdir(0o777), errno(libc::EACCES));
        assert_eq!(mkdir(0), errno(libc::EACCES));
        assert_eq!(mkdir(0o755), libc::SECCOMP_RET_ALLOW);
    }
    let dup3 = |a: u64, c: u64| verdict(&s, libc::SYS_dup3, [a, 0, c, 0, 0, 0]);
    assert_eq!(dup3(7, 0), errno(libc::EFAULT), "arg0 alone is enough");
    assert_eq!(dup3(9, 1), errno(libc::EFAULT));
    assert_eq!(dup3(9, 2), errno(libc::EFAULT));
    assert_eq!(dup3(9, 3), libc::SECCOMP_RET_ALLOW);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_calls_get_the_rules_of_their_names_when_the_profile_lists_x32() {
    const X32: i64 = 0x4000_0000;
    let with_arches = |arches: serde_json::Value, default: &str| {
        OciSeccomp::from_json(&json!({
            "defaultAction": default,
            "defaultErrnoRet": 38,
            "architectures": arches,
            "syscalls": [
                {"names": ["getpid", "execve"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["getppid", "read"], "action": "SCMP_ACT_ALLOW"}
            ]
        }))
        .expect("compiles")
    };
    let none = [0u64; 6];
    // Docker's list: x32 numbers answer as their names do, x32's own numbers too.
    let s = with_arches(
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
        "SCMP_ACT_ALLOW",
    );
    assert_eq!(
        verdict(&s, X32 | libc::SYS_getpid, none),
        errno(libc::EPERM)
    );
    assert_eq!(
        verdict(&s, X32 | 520, none),
        errno(libc::EPERM),
        "x32 execve"
    );
    assert_eq!(
        verdict(&s, X32 | libc::SYS_mkdir, none),
        libc::SECCOMP_RET_ALLOW
    );
    // An allow-list: the base, split per ABI, allows each ABI's listed calls only.
    let s = with_arches(
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]),
        "SCMP_ACT_ERRNO",
    );
    assert_eq!(s.programs(), 3, "a base per ABI and the ERRNO(1) filter");
    assert_eq!(
        verdict(&s, X32 | libc::SYS_getppid, none),
        libc::SECCOMP_RET_ALLOW
    );
    assert_eq!(
        verdict(&s, libc::SYS_getppid, none),
        libc::SECCOMP_RET_ALLOW
    );
    assert_eq!(
        verdict(&s, X32 | 515, none),
        errno(libc::ENOSYS),
        "x32 readv, not read"
    );
    assert_eq!(
        verdict(&s, X32 | libc::SYS_read, none),
        libc::SECCOMP_RET_ALLOW
    );
    assert_eq!(verdict(&s, libc::SYS_read, none), libc::SECCOMP_RET_ALLOW);
    assert_eq!(
        verdict(&s, X32 | libc::SYS_mkdir, none),
        errno(libc::ENOSYS)
    );
    assert_eq!(verdict(&s, libc::SYS_mkdir, none), errno(libc::ENOSYS));
    assert_eq!(
        verdict(&s, X32 | libc::SYS_getpid, none),
        errno(libc::EPERM)
    );
    assert_eq!(verdict(&s, -1, none), errno(libc::ENOSYS));
    // Not listed: every x32 call is killed, as libseccomp's bad-arch action does; -1 passes.
    for arches in [json!(["SCMP_ARCH_X86_64"]), json!(null)] {
        let s = with_arches(arches, "SCMP_ACT_ALLOW");
        assert_eq!(
            verdict(&s, X32 | libc::SYS_mkdir, none),
            libc::SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(verdict(&s, libc::SYS_mkdir, none), libc::SECCOMP_RET_ALLOW);
        assert_eq!(verdict(&s, -1, none), libc::SECCOMP_RET_ALLOW);
    }
}
