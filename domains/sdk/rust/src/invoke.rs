//! Keys, messages and the `ecall` (design.md §11, "The ecall convention").

use crate::abi;

/// A key register, 0..=15. Register 0 always holds DK(0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key(u8);

impl Key {
    /// Key register 0: DK(0), always.
    pub const NULL: Key = Key(0);

    /// Key register `n` (0..=15).
    pub const fn new(n: u8) -> Key {
        assert!(n < 16, "a domain has 16 key registers");
        Key(n)
    }

    /// Its number.
    pub const fn index(self) -> u8 {
        self.0
    }

    /// CALL: sends `msg` with a fresh return key as key 3 and waits for the reply.
    pub fn call(self, msg: Msg<'_>) -> Reply {
        jump(self, Jump::Call, msg)
    }

    /// FORK: sends `msg` and goes on running.
    pub fn fork(self, msg: Msg<'_>) -> Reply {
        jump(self, Jump::Fork, msg)
    }

    /// RETURN: sends `msg`, becomes available and waits for the next
    /// message, which arrives as `msg`'s receive parts say.
    pub fn ret(self, msg: Msg<'_>) -> Reply {
        jump(self, Jump::Return, msg)
    }

    /// The key's alleged type (`abi::AKT_*`).
    pub fn alleged_type(self) -> u32 {
        self.call(Msg::new(abi::KT)).rc
    }
}

/// The jump types of the exit block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Jump {
    /// Wait for the reply.
    Call = abi::JUMP_CALL,
    /// Become available.
    Return = abi::JUMP_RETURN,
    /// Go on running.
    Fork = abi::JUMP_FORK,
}

/// What an invocation sends and where its reply goes.
#[derive(Debug, Default)]
pub struct Msg<'a> {
    order: u32,
    string: Option<&'a [u8]>,
    keys: Option<[Key; 4]>,
    receive: Option<&'a mut [u8]>,
    receive_keys: Option<[Key; 4]>,
}

impl Default for Key {
    fn default() -> Key {
        Key::NULL
    }
}

impl<'a> Msg<'a> {
    /// A message with `order` (an order code, or a return code in a reply).
    pub fn new(order: u32) -> Msg<'a> {
        Msg { order, ..Msg::default() }
    }

    /// Sends `bytes` (at most 4096) as the string.
    pub fn string(mut self, bytes: &'a [u8]) -> Msg<'a> {
        self.string = Some(bytes);
        self
    }

    /// Sends up to four key registers as keys 0..3 (missing ones: DK(0)).
    pub fn keys(mut self, keys: &[Key]) -> Msg<'a> {
        self.keys = Some(four(keys));
        self
    }

    /// The reply's string goes into `buf` (truncated to its length).
    pub fn receive(mut self, buf: &'a mut [u8]) -> Msg<'a> {
        self.receive = Some(buf);
        self
    }

    /// The reply's keys 0..3 go into these registers (Key::NULL: dropped).
    pub fn receive_keys(mut self, keys: &[Key]) -> Msg<'a> {
        self.receive_keys = Some(four(keys));
        self
    }
}

fn four(keys: &[Key]) -> [Key; 4] {
    assert!(keys.len() <= 4, "a message carries at most four keys");
    core::array::from_fn(|i| keys.get(i).copied().unwrap_or(Key::NULL))
}

fn key_bits(keys: Option<[Key; 4]>) -> u32 {
    keys.map_or(0, |keys| {
        keys.iter().enumerate().fold(0xF00, |bits, (i, k)| bits | u32::from(k.0) << (16 + 4 * i))
    })
}

/// The exit block: invoke `key` with `jump`, sending the string if `send`
/// and the key registers `keys` (design.md §11).
pub fn exit_block(key: Key, jump: Jump, send: bool, keys: Option<[Key; 4]>) -> u32 {
    u32::from(key.0) | (jump as u32) << 4 | u32::from(send) << 6 | key_bits(keys)
}

/// The entry block: receive the string if `receive`, the keys into `keys`.
pub fn entry_block(receive: bool, keys: Option<[Key; 4]>) -> u32 {
    u32::from(receive) | key_bits(keys)
}

/// What came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The return code (or, for a server, the order code of the request).
    pub rc: u32,
    /// The databyte of the start key the message came through.
    pub databyte: u8,
    /// The length of the string sent (may exceed the receive buffer).
    pub sent: usize,
}

impl Reply {
    /// Bytes of the string actually stored in a buffer of `capacity`.
    pub fn len_in(&self, capacity: usize) -> usize {
        self.sent.min(capacity)
    }
}

fn jump(key: Key, jump: Jump, msg: Msg<'_>) -> Reply {
    let string = msg.string.unwrap_or(&[]);
    let exit = exit_block(key, jump, msg.string.is_some(), msg.keys);
    let entry = entry_block(msg.receive.is_some(), msg.receive_keys);
    let (rbuf, rcap) = match msg.receive {
        Some(buf) => (buf.as_mut_ptr(), buf.len()),
        None => (core::ptr::null_mut(), 0),
    };
    let (rc, databyte, sent) = ecall(msg.order, exit, entry, string, rbuf, rcap);
    Reply { rc, databyte: databyte as u8, sent: sent as usize }
}

#[cfg(target_arch = "riscv32")]
fn ecall(order: u32, exit: u32, entry: u32, send: &[u8], rbuf: *mut u8, rcap: usize) -> (u32, u32, u32) {
    let (mut a0, mut a1, mut a2) = (order, exit, entry);
    // Safety: the ecall is the kernel's invocation; it writes only a0..a2 and
    // the receive buffer, whose pointer and length come from a live &mut [u8].
    unsafe {
        core::arch::asm!(
            "ecall",
            inout("a0") a0, inout("a1") a1, inout("a2") a2,
            in("a3") send.as_ptr(), in("a4") send.len(), in("a5") rbuf, in("a6") rcap,
        );
    }
    (a0, a1, a2)
}

#[cfg(not(target_arch = "riscv32"))]
fn ecall(_: u32, _: u32, _: u32, _: &[u8], _: *mut u8, _: usize) -> (u32, u32, u32) {
    panic!("invoking a key needs a Gnosis domain (riscv32im-unknown-none-elf)")
}

/// `ebreak` with a0 = `a0`, a1 = `a1` (the domain's keeper sees trap 2).
#[cfg(target_arch = "riscv32")]
pub(crate) fn breakpoint(a0: u32, a1: u32) {
    // Safety: ebreak only traps; the registers are inputs.
    unsafe { core::arch::asm!("ebreak", in("a0") a0, in("a1") a1) }
}

#[cfg(not(target_arch = "riscv32"))]
pub(crate) fn breakpoint(a0: u32, _: u32) {
    panic!("a Gnosis domain stopped with code {a0}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_blocks_are_design_md_s() {
        // CALL k3 with nothing: just the register.
        assert_eq!(exit_block(Key::new(3), Jump::Call, false, None), 3);
        // RETURN k15 sending a string and keys 12, 0, 0, 15.
        let keys = four(&[Key::new(12), Key::NULL, Key::NULL, Key::new(15)]);
        assert_eq!(exit_block(Key::new(15), Jump::Return, true, Some(keys)), 0xF000_0F5F | 12 << 16);
        assert_eq!(exit_block(Key::new(1), Jump::Fork, false, None), 0x21);
    }

    #[test]
    fn entry_blocks_are_design_md_s() {
        assert_eq!(entry_block(false, None), 0);
        assert_eq!(entry_block(true, Some(four(&[Key::new(4)]))), 0x0004_0F01);
    }

    #[test]
    #[should_panic(expected = "16 key registers")]
    fn a_key_register_past_15_is_refused() {
        let _ = Key::new(16);
    }

    #[test]
    #[should_panic(expected = "at most four keys")]
    fn five_keys_are_refused() {
        let k = Key::new(1);
        let _ = Msg::new(0).keys(&[k, k, k, k, k]);
    }
}
