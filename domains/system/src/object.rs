//! Objects made of nodes: front ends and the registers servers keep.
//!
//! A **front end** is a node whose slot 15 holds the format of a red
//! segment node with no initial slots and its keeper in slot 14
//! ([`FRONT_END_FORMAT`]), and whose slot 14 holds a start key to the
//! server, the start key's databyte naming the facet. A segment key to it
//! (lss 0, databyte 0) is the object's key: invoking it calls the server
//! with key 2 a node key to the front end (design.md §10), and the
//! server reads the object's state from the front end's slots 0..=13.
//! Slot 13 holds the object's kind and facet data key ([`tag`]), so a
//! server serving several kinds tells them apart and never mistakes one
//! for another.

use gnosis::keys::{Bank, DataKeyCreator, Domain, Node};
use gnosis::{Key, Msg, abi};

/// The format key's value of a front end: ssc 0, no initial slots, keeper
/// slot 14, no background (design.md §10).
pub const FRONT_END_FORMAT: u64 = 14 << 8 | 15 << 12;
/// The front-end slot holding the server's start key.
pub const KEEPER_SLOT: u32 = 14;
/// The front-end slot holding the format key.
pub const FORMAT_SLOT: u32 = 15;
/// The front-end slot holding the object's tag ([`tag`]).
pub const TAG_SLOT: u32 = 13;

/// Key registers the big bang gives every system server written in Rust.
pub mod reg {
    use gnosis::Key;

    /// The returner: every reply goes through it.
    pub const RETURNER: Key = Key::new(1);
    /// A domain key to the server itself (start keys for new front ends).
    pub const SELF: Key = Key::new(2);
    /// The data-key creator.
    pub const DKC: Key = Key::new(3);
    /// Discrim.
    pub const DISCRIM: Key = Key::new(4);
    /// The domain tool.
    pub const TOOL: Key = Key::new(5);
    /// The prime bank (for VerifyBank, and what the server buys for itself).
    pub const BANK: Key = Key::new(6);
    /// Scratch registers, the server's to use.
    pub const SCRATCH: [Key; 5] = [Key::new(7), Key::new(8), Key::new(9), Key::new(10), Key::new(11)];
    /// A request's keys 0 and 1.
    pub const ARG: [Key; 2] = [Key::new(12), Key::new(13)];
    /// A request's key 2: the front end it came through, as a node key.
    pub const FRONT: Key = Key::new(14);
    /// The caller's resume key.
    pub const CALLER: Key = Key::new(15);
}

/// The tag of an object of `kind` seen through `facet` (slot 13): a data
/// key whose value is `kind << 8 | facet`.
pub const fn tag(kind: u8, facet: u8) -> u64 {
    (kind as u64) << 8 | facet as u64
}

/// Makes a new front end for an object of `kind`, seen through `facet`,
/// from a node bought from `bank`: the node key in `node`, the key to hand
/// out (a segment key to it) in `out`; `scratch` is overwritten. Fails with
/// the bank's return code.
pub fn new_front_end(bank: Bank, kind: u8, facet: u8, node: Key, scratch: Key, out: Key) -> Result<(), u32> {
    match bank.create_node(node) {
        0 => {}
        rc => return Err(rc),
    }
    let node_k = Node(node);
    let dkc = DataKeyCreator(reg::DKC);
    dkc.make(FRONT_END_FORMAT, scratch);
    node_k.swap(FORMAT_SLOT, scratch, Key::NULL);
    dkc.make(tag(kind, facet), scratch);
    node_k.swap(TAG_SLOT, scratch, Key::NULL);
    Domain(reg::SELF).make_start(facet, scratch);
    node_k.swap(KEEPER_SLOT, scratch, Key::NULL);
    node_k.make_segment(0, out);
    Ok(())
}

/// The tag of the front end a request came through (key 2, in
/// [`reg::FRONT`]); `None` if key 2 is not one of ours (a call through a
/// start key given out by mistake, or a DK(0)).
pub fn front_end_tag(scratch: Key) -> Option<u64> {
    let front = Node(reg::FRONT);
    if front.fetch(TAG_SLOT, scratch) != 0 {
        return None;
    }
    let reply = scratch.call(Msg::new(0).receive(&mut [0u8; 8]));
    // Any order to a data key answers RC_DATA with its value.
    (reply.rc == abi::RC_DATA).then(|| data_value(scratch))
}

/// The value of the data key in `key`.
pub fn data_value(key: Key) -> u64 {
    let mut b = [0u8; 8];
    key.call(Msg::new(0).receive(&mut b));
    u64::from_le_bytes(b)
}

/// Whether `bank` is an official bank (the prime bank's VerifyBank, 66).
pub fn official_bank(bank: Key) -> bool {
    reg::BANK.call(Msg::new(abi::BANK_VERIFY).keys(&[bank])).rc == 0
}
