//! From a profile to BPF programs, with seccompiler.
//!
//! A profile gives each rule its own action; a seccompiler filter has one action for a
//! match and one for no match. The kernel bridges the gap: a process may hold several
//! filters, the kernel runs them all on every call and keeps the answer of highest
//! precedence (KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > TRACE > LOG > ALLOW; on a tie the
//! filter installed last wins; seccomp(2), "Filter return values"). So the profile becomes:
//!
//! ```text
//! base      every rule's calls → ALLOW, anything else → defaultAction
//! one per action A (not ALLOW)   A's calls → A, anything else → ALLOW
//! ```
//!
//! ALLOW is the weakest answer, so a filter that allows has no say; a call matched by no
//! rule gets the default from the base; a call matched by rules gets the strongest of their
//! actions. Rules whose action is the default action are dropped, as runc does (libseccomp
//! refuses them): they change nothing.

use std::collections::BTreeMap;

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::profile::{ArgCondition, Profile, SyscallRule};
use super::syscalls;
use crate::{Error, Result};

/// A compiled profile: the programs in the order they are installed, and the names that
/// have no number on this architecture (skipped).
pub struct Compiled {
    pub programs: Vec<Vec<libc::sock_filter>>,
    pub skipped: Vec<String>,
}

/// The rules of one call within one filter: unconditional, or any of these rules.
#[derive(Default)]
struct Chain {
    always: bool,
    rules: Vec<SeccompRule>,
}

type Calls = BTreeMap<i64, Chain>;

pub fn compile(profile: &Profile) -> Result<Compiled> {
    let default = action(&profile.default_action, profile.default_errno_ret)?;
    let x32 = cfg!(target_arch = "x86_64")
        && profile
            .architectures
            .iter()
            .flatten()
            .any(|a| a == "SCMP_ARCH_X32");
    let mut every_rule = Calls::new();
    let mut every_x32 = Calls::new();
    let mut by_action: Vec<(SeccompAction, Calls)> = Vec::new();
    let mut skipped = Vec::new();
    for rule in profile.syscalls.iter().flatten() {
        let act = action(&rule.action, rule.errno_ret)?;
        let alternatives = alternatives(rule)?;
        if alternatives.is_empty() || act == default {
            continue; // a rule that can never match, or that changes nothing
        }
        let pos = match by_action.iter().position(|(a, _)| *a == act) {
            Some(pos) => pos,
            None => {
                by_action.push((act, Calls::new()));
                by_action.len() - 1
            }
        };
        for name in &rule.names {
            let Some(nr) = syscalls::number(name) else {
                skipped.push(name.clone());
                continue;
            };
            add(&mut every_rule, nr, &alternatives)?;
            add(&mut by_action[pos].1, nr, &alternatives)?;
            // The same call made through the x32 ABI, when the profile lists it.
            if let Some(nr) = x32.then(|| syscalls::x32_number(name)).flatten() {
                add(&mut every_x32, nr, &alternatives)?;
                add(&mut by_action[pos].1, nr, &alternatives)?;
            }
        }
    }
    // ANCHOR: stack
    let mut programs = Vec::new();
    if default != SeccompAction::Allow {
        programs.extend(base(every_rule, every_x32, default)?);
    }
    for (act, calls) in by_action {
        if act != SeccompAction::Allow {
            programs.push(program(calls, SeccompAction::Allow, act)?);
        }
    }
    // ANCHOR_END: stack
    if programs.is_empty() {
        // An allow-everything profile still gets the architecture check.
        programs.push(program(
            Calls::new(),
            SeccompAction::Allow,
            SeccompAction::Trap,
        )?);
    }
    if cfg!(target_arch = "x86_64") && !x32 {
        programs.push(x32_guard());
    }
    skipped.sort();
    skipped.dedup();
    Ok(Compiled { programs, skipped })
}

fn add(calls: &mut Calls, nr: i64, alternatives: &[Vec<SeccompCondition>]) -> Result<()> {
    let chain = calls.entry(nr).or_default();
    for conditions in alternatives {
        if conditions.is_empty() {
            chain.always = true;
        } else {
            let rule = SeccompRule::new(conditions.clone()).map_err(|e| invalid(&e))?;
            chain.rules.push(rule);
        }
    }
    Ok(())
}

// ANCHOR: x32
/// The answer to an x32 call when the profile does not list SCMP_ARCH_X32. An x32 call
/// carries the x86-64 arch value with bit 30 set in its number, so it passes the arch check
/// and matches no rule: a deny-list profile (default ALLOW) would let `mkdir` through as
/// x32's `0x40000053`. libseccomp gives such calls its bad-arch action, a kill; so does
/// this filter (the process, as seccompiler's own arch check does). The number -1, which a
/// tracer sets to skip a call, passes (libseccomp lets it through too).
fn x32_guard() -> Vec<libc::sock_filter> {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const X32_SYSCALL_BIT: u32 = syscalls::X32_SYSCALL_BIT as u32;
    use libc::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W};
    vec![
        insn(BPF_LD | BPF_W | BPF_ABS, 4, 0, 0), // seccomp_data.arch
        insn(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4), // another arch: allow
        insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, 0), // seccomp_data.nr
        insn(BPF_JMP | BPF_JEQ | BPF_K, u32::MAX, 2, 0), // -1: allow
        insn(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, 0, 1), // no x32 bit: allow
        insn(BPF_RET | BPF_K, libc::SECCOMP_RET_KILL_PROCESS, 0, 0),
        insn(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW, 0, 0),
    ]
}
// ANCHOR_END: x32

/// The base filter: every rule's calls → ALLOW, anything else → the default. With x32
/// rules it is split in two, one per ABI, each abstaining (ALLOW) on the other's calls: one
/// program for both would not fit a profile of podman's size (BPF_MAXINSNS is 4096; podman's
/// needs 3,479 instructions in one, 1,760 and 1,730 in two).
fn base(
    native: Calls,
    x32: Calls,
    default: SeccompAction,
) -> Result<Vec<Vec<libc::sock_filter>>> {
    let allow = SeccompAction::Allow;
    if x32.is_empty() {
        return Ok(vec![program(native, default, allow)?]);
    }
    Ok(vec![
        abstain(program(native, default.clone(), allow.clone())?, true)?,
        abstain(program(x32, default, allow)?, false)?,
    ])
}

/// Inserts, right after seccompiler's architecture check (its first three instructions),
/// an ALLOW for the calls of one ABI: those with the x32 bit when `on_x32`, the others
/// otherwise. seccompiler's jumps all go forward from after the check, so none moves.
fn abstain(
    mut program: Vec<libc::sock_filter>,
    on_x32: bool,
) -> Result<Vec<libc::sock_filter>> {
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    if program.get(2).map(|i| i.code) != Some(ret) {
        return Err(invalid(
            &"seccompiler's program does not start with its architecture check",
        ));
    }
    let (jt, jf) = if on_x32 { (0, 1) } else { (1, 0) };
    let bit = syscalls::X32_SYSCALL_BIT as u32;
    program.splice(
        3..3,
        [
            insn(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0), // seccomp_data.nr
            insn(libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K, bit, jt, jf),
            insn(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW, 0, 0),
        ],
    );
    Ok(program)
}

fn insn(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

fn program(
    calls: Calls,
    mismatch: SeccompAction,
    matched: SeccompAction,
) -> Result<Vec<libc::sock_filter>> {
    let rules = calls
        .into_iter()
        .map(|(nr, chain)| {
            (
                nr,
                if chain.always {
                    Vec::new()
                } else {
                    chain.rules
                },
            )
        })
        .collect();
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| invalid(&e))?;
    let filter =
        SeccompFilter::new(rules, mismatch, matched, arch).map_err(|e| invalid(&e))?;
    let bpf: seccompiler::BpfProgram = filter.try_into().map_err(|e| invalid(&e))?;
    Ok(bpf
        .into_iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect())
}

fn invalid(e: &dyn std::fmt::Display) -> Error {
    Error::Invalid(format!("the seccomp profile cannot be compiled: {e}"))
}

/// A profile's action name as the kernel's action. ERRNO and TRACE carry `errno_ret`
/// (EPERM when absent, as runc does).
fn action(name: &str, errno_ret: Option<u32>) -> Result<SeccompAction> {
    let ret = errno_ret.unwrap_or(libc::EPERM as u32);
    Ok(match name {
        "SCMP_ACT_ALLOW" => SeccompAction::Allow,
        "SCMP_ACT_ERRNO" => SeccompAction::Errno(ret),
        // libseccomp's SCMP_ACT_KILL is the older name of KILL_THREAD.
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => SeccompAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => SeccompAction::KillProcess,
        "SCMP_ACT_TRAP" => SeccompAction::Trap,
        "SCMP_ACT_LOG" => SeccompAction::Log,
        "SCMP_ACT_TRACE" => SeccompAction::Trace(ret),
        "SCMP_ACT_NOTIFY" => {
            return Err(Error::Invalid(
                "the seccomp action SCMP_ACT_NOTIFY needs a listener (seccomp user \
                 notification), which this runtime does not support"
                    .into(),
            ))
        }
        other => {
            return Err(Error::Invalid(format!(
                "the seccomp action {other} is not one of the runtime spec's actions"
            )))
        }
    })
}

/// A rule's argument conditions as alternatives, each a list of conditions that must all
/// hold: `[[]]` for a rule without conditions, `[]` for one that can never match.
///
/// runc's rule (libcontainer/seccomp): conditions on different arguments are ANDed in one
/// rule; as soon as two name the same argument, *every* condition becomes a rule of its own,
/// and they are ORed. So `mkdir` with `arg1 == 0777` and `arg1 == 0` is denied for either
/// mode; ANDed, it would be denied for none (no mode is both), and the profile's author,
/// who wrote it for runc, would be let down without a word.
/// Arguments are compared as 64-bit values, as libseccomp does.
fn alternatives(rule: &SyscallRule) -> Result<Vec<Vec<SeccompCondition>>> {
    let args: Vec<&ArgCondition> = rule.args.iter().flatten().collect();
    let each = args
        .iter()
        .map(|arg| condition(arg))
        .collect::<Result<Vec<Option<SeccompCondition>>>>()?;
    let one_argument_twice = args
        .iter()
        .enumerate()
        .any(|(i, a)| args[..i].iter().any(|b| b.index == a.index));
    Ok(if one_argument_twice {
        // One rule per condition; a condition that can never hold drops out of the OR.
        each.into_iter().flatten().map(|c| vec![c]).collect()
    } else {
        // One rule; a condition that can never hold makes the whole rule never match.
        each.into_iter()
            .collect::<Option<Vec<_>>>()
            .into_iter()
            .collect()
    })
}

fn condition(arg: &ArgCondition) -> Result<Option<SeccompCondition>> {
    // libseccomp compares (arg & mask) with valueTwo as given; seccompiler masks valueTwo
    // too. A valueTwo with bits outside the mask can never be equal: no match, ever.
    if arg.op == "SCMP_CMP_MASKED_EQ" && arg.value_two & !arg.value != 0 {
        return Ok(None);
    }
    let (op, value) = match arg.op.as_str() {
        "SCMP_CMP_EQ" => (SeccompCmpOp::Eq, arg.value),
        "SCMP_CMP_NE" => (SeccompCmpOp::Ne, arg.value),
        "SCMP_CMP_LT" => (SeccompCmpOp::Lt, arg.value),
        "SCMP_CMP_LE" => (SeccompCmpOp::Le, arg.value),
        "SCMP_CMP_GT" => (SeccompCmpOp::Gt, arg.value),
        "SCMP_CMP_GE" => (SeccompCmpOp::Ge, arg.value),
        // (arg & value) == valueTwo: `value` is the mask.
        "SCMP_CMP_MASKED_EQ" => (SeccompCmpOp::MaskedEq(arg.value), arg.value_two),
        other => {
            return Err(Error::Invalid(format!(
                "the seccomp argument operator {other} is not one of the runtime spec's"
            )))
        }
    };
    let index = u8::try_from(arg.index)
        .ok()
        .filter(|i| *i < 6)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "a seccomp argument index is {}, and system calls have arguments 0 to 5",
                arg.index
            ))
        })?;
    SeccompCondition::new(index, SeccompCmpArgLen::Qword, op, value)
        .map(Some)
        .map_err(|e| invalid(&e))
}
