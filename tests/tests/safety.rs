//! Capability safety: a domain running random code, holding only a sense
//! key to a tree of nodes and pages (and some harmless misc keys), never
//! ends up holding more authority than observation: no read-write page
//! key, no node, domain, start or range key, whatever it executes and
//! invokes. The image stays consistent, and the emulator never panics.

use gnosis_tests::{Spawn, asm, kernel_with_operator, spawn};
use kernel::builder::{Builder, DomainSpec};
use kernel::check;
use kernel::invoke::{EntryBlock, ExitBlock, Jump};
use kernel::key::{Cda, Key, KeyType, MemoryFlags, MiscKind};
use proptest::prelude::*;

/// One piece of random code: a random word, or an invocation with random
/// (valid) exit and entry blocks.
#[derive(Clone, Debug)]
enum Piece {
    Word(u32),
    Invoke { order: u16, slot: u8, jump: u8, pass: [u8; 4], mask: u8, receive: [u8; 4], rmask: u8 },
}

fn piece() -> impl Strategy<Value = Piece> {
    // Biased towards invocations that can reach the tree: mostly calls of
    // the sense key (slot 1) or of a key fetched earlier (slots 5..=8) with
    // fetch orders, receiving keys into the slots later pieces invoke.
    let slot = prop_oneof![3 => Just(1u8), 3 => 5u8..9, 1 => 0u8..16];
    let order = prop_oneof![4 => 0u16..4, 1 => 0u16..80];
    let jump = prop_oneof![18 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)];
    let receive = proptest::array::uniform4(prop_oneof![3 => 5u8..9, 1 => 0u8..16]);
    let invoke = (order, slot, jump, any::<[u8; 4]>(), 0u8..16, receive, 1u8..16).prop_map(
        |(order, slot, jump, pass, mask, receive, rmask)| Piece::Invoke {
            order,
            slot,
            jump,
            pass,
            mask,
            receive,
            rmask,
        },
    );
    prop_oneof![1 => any::<u32>().prop_map(Piece::Word), 4 => invoke]
}

fn li(rd: u32, v: u32) -> [u32; 2] {
    let hi = v.wrapping_add(0x800) >> 12;
    let lo = v.wrapping_sub(hi << 12) & 0xFFF;
    [hi << 12 | rd << 7 | 0x37, lo << 20 | rd << 15 | rd << 7 | 0x13]
}

fn code(pieces: &[Piece]) -> Vec<u32> {
    let mut w = Vec::new();
    for p in pieces {
        match *p {
            Piece::Word(x) => w.push(x),
            Piece::Invoke { order, slot, jump, pass, mask, receive, rmask } => {
                let jump = [Jump::Call, Jump::Return, Jump::Fork][jump as usize];
                let exit = ExitBlock {
                    invoked: slot as usize & 15,
                    jump,
                    send_string: true,
                    key_mask: mask,
                    slots: pass.map(|s| s as usize & 15),
                };
                let entry = EntryBlock {
                    receive_string: true,
                    key_mask: rmask,
                    slots: receive.map(|s| s as usize & 15),
                };
                for (r, v) in [
                    (10, u32::from(order)),
                    (11, exit.encode()),
                    (12, entry.encode()),
                    (13, 0x20000),
                    (14, 16),
                    (15, 0x20100),
                    (16, 64),
                ] {
                    w.extend(li(r, v));
                }
                w.push(0x0000_0073);
            }
        }
    }
    w.push(0x0000_006F); // j . : spin at the end
    w
}

/// Skips whatever instruction trapped (pc + 4, trap cleared) and resumes.
const SKIPPING_KEEPER: &str = r#"
    .include "gnosis.inc"
_start:
    li   a0, 0
    EXIT a1, 0, RETURN
    ENTRY a2, 0, 0xC, 0, 0, 13, 14
    ecall
1:  KCALL_STR 13, 68, control, 0, control, 16
    la   t0, control
    lw   t1, 0(t0)
    addi t1, t1, 4
    sw   t1, 0(t0)
    sw   zero, 4(t0)
    KCALL_STR 13, 69, control, 12, control, 0
    li   a0, 0
    EXIT a1, 14, RETURN
    ENTRY a2, 0, 0xC, 0, 0, 13, 14
    ecall
    j    1b
    .data
control: .space 16
"#;

/// A key only observation can come from.
fn sensory_or_harmless(key: Key, own_root: Cda) -> bool {
    match key.kind() {
        KeyType::Data => true,
        KeyType::Page => key.memory_flags().contains(MemoryFlags::READ_ONLY),
        KeyType::Sense => true,
        KeyType::Segment => key.memory_flags().contains(MemoryFlags::READ_ONLY | MemoryFlags::NO_CALL),
        KeyType::Misc => {
            matches!(key.misc_kind(), Some(MiscKind::Returner | MiscKind::Discrim | MiscKind::DataKeyCreator))
        }
        KeyType::Resume => key.cda() == own_root,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn random_code_never_gains_authority(pieces in proptest::collection::vec(piece(), 1..120)) {
        let (_s, mut k, _op, prime) = kernel_with_operator(8 << 20);
        let keeper = spawn(&mut k, prime, &asm(SKIPPING_KEEPER), Spawn::default());
        let mut b = Builder::new(&mut k);
        let keeper_key = b.start_key(keeper, 0);
        // The tree: n1 holds a read-write page key, a node key to n2, and a
        // start key to another domain; n2 holds a read-write page key.
        let (n1, n2, p1, p2) = (b.node().unwrap(), b.node().unwrap(), b.page().unwrap(), b.page().unwrap());
        let other = b.domain(&DomainSpec { meter: prime, state: kernel::domain::RunState::Available, ..Default::default() }).unwrap();
        let n2_key = b.key(KeyType::Node, n2, 0);
        let p1_key = b.key(KeyType::Page, p1, 0);
        let p2_key = b.key(KeyType::Page, p2, 0);
        let other_start = b.start_key(other, 0);
        for (slot, key) in [(0, p1_key), (1, n2_key), (2, other_start), (3, b.domain_key(other))] {
            b.set(n1, slot, key).unwrap();
        }
        b.set(n2, 0, p2_key).unwrap();
        let space = b.address_space().unwrap();
        let code_pages = b.map_fresh(space, 0x10000, 0x4000, true).unwrap();
        b.map_fresh(space, 0x20000, 4096, false).unwrap();
        let bytes: Vec<u8> = code(&pieces).iter().flat_map(|w| w.to_le_bytes()).collect();
        for (i, chunk) in bytes.chunks(4096).enumerate() {
            b.kernel().write_page(code_pages[i.min(3)], 0, chunk).unwrap();
        }
        let keys = vec![
            (1, b.key(KeyType::Sense, n1, 0xC0)),
            (2, Key::misc(MiscKind::Returner)),
            (3, Key::misc(MiscKind::Discrim)),
            (4, Key::misc(MiscKind::DataKeyCreator)),
        ];
        let spec = DomainSpec { memory: space, meter: prime, keeper: keeper_key, pc: 0x10000, keys, ..Default::default() };
        let root = b.domain(&spec).unwrap();
        // Checked between short runs, so authority held only for a moment
        // is caught too.
        for _ in 0..100 {
            k.run(4_000).unwrap();
            for reg in 0..16 {
                let raw = k.domain_state(root).unwrap().map(|d| d.keys[reg]).unwrap_or(Key::NULL);
                let held = kernel::object::validate(k.store(), raw);
                prop_assert!(sensory_or_harmless(held, root), "key register {} holds {:?}", reg, held);
            }
        }
        k.checkpoint_now().unwrap();
        let storage = k.store().storage().clone();
        k.finish_background().unwrap();
        let len = storage.frame_count() * disk_image::FRAME_BYTES;
        let report = check::check_image(storage, len).unwrap();
        prop_assert!(report.is_clean(), "{:?}", report.findings);
    }
}
