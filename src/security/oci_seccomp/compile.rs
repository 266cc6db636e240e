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
    let mut every_rule = Calls::new();
    let mut by_action: Vec<(SeccompAction, Calls)> = Vec::new();
    let mut skipped = Vec::new();
    for rule in profile.syscalls.iter().flatten() {
        let act = action(&rule.action, rule.errno_ret)?;
        let Some(conditions) = conditions(rule)? else {
            continue; // a rule that can never match
        };
        if act == default {
            continue;
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
            add(&mut every_rule, nr, &conditions)?;
            add(&mut by_action[pos].1, nr, &conditions)?;
        }
    }
    // ANCHOR: stack
    let mut programs = Vec::new();
    if default != SeccompAction::Allow {
        programs.push(program(every_rule, default, SeccompAction::Allow)?);
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
    skipped.sort();
    skipped.dedup();
    Ok(Compiled { programs, skipped })
}

fn add(calls: &mut Calls, nr: i64, conditions: &[SeccompCondition]) -> Result<()> {
    let chain = calls.entry(nr).or_default();
    if conditions.is_empty() {
        chain.always = true;
    } else {
        let rule = SeccompRule::new(conditions.to_vec()).map_err(|e| invalid(&e))?;
        chain.rules.push(rule);
    }
    Ok(())
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

/// A rule's argument conditions (all must hold), or `None` when one of them can never hold.
/// Arguments are compared as 64-bit values, as libseccomp does.
fn conditions(rule: &SyscallRule) -> Result<Option<Vec<SeccompCondition>>> {
    let all: Result<Vec<Option<SeccompCondition>>> =
        rule.args.iter().flatten().map(condition).collect();
    Ok(all?.into_iter().collect())
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
