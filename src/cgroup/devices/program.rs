//! The allow-list as a cgroup v2 device program: eBPF instructions, built by hand.
//!
//! cgroup v2 has no `devices.allow` file. Instead the kernel runs the BPF programs attached
//! to a process's cgroup (type `BPF_PROG_TYPE_CGROUP_DEVICE`) on every mknod(2) and every
//! open of a device node; a program that returns 0 makes the call fail with EPERM. The
//! program gets one argument, a pointer to `struct bpf_cgroup_dev_ctx` (linux/bpf.h):
//!
//! ```text
//!   offset 0  u32 access_type   (access << 16) | type   access: 1 mknod, 2 read, 4 write
//!                                                       type:   1 block, 2 char
//!   offset 4  u32 major
//!   offset 8  u32 minor
//! ```
//!
//! The program is small enough to write as instructions, as runc, crun and youki do: load
//! the four fields into registers once, then one block of compares per rule, each jumping
//! to the next block on a mismatch and returning 1 when all match; after the last block,
//! return 0.
//!
//! ```text
//!   r2 = type   r3 = access   r4 = major   r5 = minor
//!   rule c 1:3 rwm:   if r2 != 2 goto next; if r4 != 1 goto next; if r5 != 3 goto next;
//!                     r0 = 1; exit
//!   rule c *:* m:     if r2 != 2 goto next; r1 = r3; r1 &= 1; if r1 != r3 goto next;
//!                     r0 = 1; exit
//!   r0 = 0; exit
//! ```
//!
//! An access such as open for read and write asks for both bits at once; the rule must hold
//! all of them (`asked & allowed == asked`).

use super::list::DeviceAllowList;
use super::rule::{Access, DeviceRule};

/// One eBPF instruction, laid out as the kernel reads it (`struct bpf_insn`, 8 bytes):
/// opcode, destination and source register (4 bits each), a jump offset, an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// `dst_reg` in the low 4 bits, `src_reg` in the high 4 (little-endian bitfields).
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes used here (linux/bpf_common.h, linux/bpf.h): class | operation | source.
/// `dst = *(u32 *)(src + off)`: BPF_LDX | BPF_MEM | BPF_W.
pub const LDX_W: u8 = 0x61;
/// `dst &= imm` on 32 bits: BPF_ALU | BPF_AND | BPF_K.
pub const AND32_K: u8 = 0x54;
/// `dst >>= imm` on 32 bits: BPF_ALU | BPF_RSH | BPF_K.
pub const RSH32_K: u8 = 0x74;
/// `dst = src` on 32 bits: BPF_ALU | BPF_MOV | BPF_X.
pub const MOV32_X: u8 = 0xbc;
/// `dst = imm`: BPF_ALU64 | BPF_MOV | BPF_K.
pub const MOV64_K: u8 = 0xb7;
/// `if dst != imm goto +off`: BPF_JMP | BPF_JNE | BPF_K.
pub const JNE_K: u8 = 0x55;
/// `if dst != src goto +off`: BPF_JMP | BPF_JNE | BPF_X.
pub const JNE_X: u8 = 0x5d;
/// return r0: BPF_JMP | BPF_EXIT.
pub const EXIT: u8 = 0x95;

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }

    /// The destination register.
    pub fn dst(self) -> usize {
        usize::from(self.regs & 0x0f)
    }

    /// The source register.
    pub fn src(self) -> usize {
        usize::from(self.regs >> 4)
    }
}

// Registers: r0 holds the return value, r1 the context pointer on entry.
const R0: u8 = 0;
const R1: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

/// The program that allows what `list` allows and refuses everything else.
pub fn build(list: &DeviceAllowList) -> Vec<Insn> {
    let mut prog = vec![
        Insn::new(LDX_W, TYPE, R1, 0, 0), //     r2 = access_type
        Insn::new(AND32_K, TYPE, 0, 0, 0xffff), // low 16 bits: block or char
        Insn::new(LDX_W, ACCESS, R1, 0, 0), //   r3 = access_type
        Insn::new(RSH32_K, ACCESS, 0, 0, 16), // high bits: mknod, read, write
        Insn::new(LDX_W, MAJOR, R1, 4, 0), //    r4 = major
        Insn::new(LDX_W, MINOR, R1, 8, 0), //    r5 = minor
    ];
    for rule in list.rules() {
        prog.extend(rule_block(rule));
    }
    prog.push(Insn::new(MOV64_K, R0, 0, 0, 0)); // no rule matched: EPERM
    prog.push(Insn::new(EXIT, 0, 0, 0, 0));
    prog
}

/// One rule's block: compares that jump past the block on a mismatch, then `return 1`.
fn rule_block(rule: &DeviceRule) -> Vec<Insn> {
    // (opcode, register, immediate); the jump offsets follow once the length is known.
    let mut checks: Vec<(u8, u8, i32)> = vec![(JNE_K, TYPE, rule.kind.bpf_value() as i32)];
    if !rule.access.contains(Access::ALL) {
        checks.push((MOV32_X, R1, 0)); //                      r1 = r3 (asked)
        checks.push((AND32_K, R1, rule.access.bits() as i32)); // r1 &= allowed
        checks.push((JNE_X, R1, 0)); //                        asked more: no match
    }
    if let Some(major) = rule.major {
        checks.push((JNE_K, MAJOR, major as i32));
    }
    if let Some(minor) = rule.minor {
        checks.push((JNE_K, MINOR, minor as i32));
    }
    let len = checks.len() + 2;
    let mut block = Vec::with_capacity(len);
    for (i, (code, dst, imm)) in checks.into_iter().enumerate() {
        // A jump counts from the next instruction: past the block is all after this one.
        let past_block = (len - i - 1) as i16;
        block.push(match code {
            MOV32_X => Insn::new(MOV32_X, dst, ACCESS, 0, 0),
            JNE_X => Insn::new(JNE_X, dst, ACCESS, past_block, 0),
            JNE_K => Insn::new(JNE_K, dst, 0, past_block, imm),
            _ => Insn::new(code, dst, 0, 0, imm),
        });
    }
    block.push(Insn::new(MOV64_K, R0, 0, 0, 1)); // allowed
    block.push(Insn::new(EXIT, 0, 0, 0, 0));
    block
}

#[cfg(test)]
mod tests {
    use super::super::DeviceKind;
    use super::*;

    /// Runs `prog` as the kernel would on one device access: an interpreter of exactly the
    /// instructions `build` emits (anything else fails the test).
    fn run(prog: &[Insn], kind: DeviceKind, major: u32, minor: u32, access: Access) -> u64 {
        let ctx = [(access.bits() << 16) | kind.bpf_value(), major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let insn = prog[pc];
            pc += 1;
            let (d, s) = (insn.dst(), insn.src());
            match insn.code {
                LDX_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[insn.off as usize / 4]);
                }
                AND32_K => r[d] = u64::from(r[d] as u32 & insn.imm as u32),
                RSH32_K => r[d] = u64::from((r[d] as u32) >> insn.imm),
                MOV32_X => r[d] = u64::from(r[s] as u32),
                MOV64_K => r[d] = insn.imm as i64 as u64,
                JNE_K | JNE_X => {
                    let other = if insn.code == JNE_K {
                        insn.imm as i64 as u64
                    } else {
                        r[s]
                    };
                    if r[d] != other {
                        assert!(insn.off > 0, "jumps only forward");
                        pc += insn.off as usize;
                    }
                }
                EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn the_program_has_one_block_per_rule() {
        let list = DeviceAllowList::docker_default();
        let prog = build(&list);
        // 6 loads; c M:m rwm = 3 compares + 2; c 136:* rwm = 2 + 2; c *:* m = 4 + 2; 2 to
        // end.
        assert_eq!(prog.len(), 6 + 8 * 5 + 4 + 2 * 6 + 2);
        assert_eq!(prog.last().map(|i| i.code), Some(EXIT));
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        // Every jump lands inside the program, forward.
        for (i, insn) in prog.iter().enumerate() {
            if insn.code == JNE_K || insn.code == JNE_X {
                assert!(insn.off > 0 && i + 1 + (insn.off as usize) < prog.len());
            }
        }
    }

    #[test]
    fn the_program_agrees_with_the_list_on_every_access() {
        let list = DeviceAllowList::docker_default();
        let prog = build(&list);
        let accesses = [
            Access::MKNOD,
            Access::READ,
            Access::WRITE,
            Access::READ.union(Access::WRITE),
            Access::ALL,
        ];
        let devices = [
            (1, 3),
            (1, 5),
            (1, 11),
            (5, 0),
            (5, 1),
            (5, 2),
            (136, 0),
            (136, 7),
            (7, 0),
            (8, 0),
            (10, 200),
            (4, 1),
            (0, 0),
        ];
        for kind in [DeviceKind::Char, DeviceKind::Block] {
            for (major, minor) in devices {
                for access in accesses {
                    let want = list.allows(kind, major, minor, access);
                    let got = run(&prog, kind, major, minor, access);
                    assert_eq!(got, u64::from(want), "{kind:?} {major}:{minor} {access}");
                }
            }
        }
        // The attack: the loop device can be made, not opened; kmsg neither.
        assert_eq!(run(&prog, DeviceKind::Block, 7, 0, Access::MKNOD), 1);
        assert_eq!(run(&prog, DeviceKind::Block, 7, 0, Access::READ), 0);
        assert_eq!(run(&prog, DeviceKind::Char, 1, 11, Access::WRITE), 0);
        assert_eq!(run(&prog, DeviceKind::Char, 136, 3, Access::READ), 1);
    }

    #[test]
    fn an_empty_list_refuses_everything() {
        let prog = build(&DeviceAllowList::new(Vec::new()));
        assert_eq!(prog.len(), 8);
        assert_eq!(run(&prog, DeviceKind::Char, 1, 3, Access::READ), 0);
    }
}
