//! Typed handles for every kernel key and system domain: each wraps the
//! [`Key`] register that holds it and offers that key's orders (design.md
//! §11 and §18). Methods that make a key take the register it goes to.
//! Return codes are `u32`s as the kernel gives them (`abi::RC_*` and the
//! key's own); values the orders answer come back in `Result`s or tuples.

use crate::{Key, Msg, abi};

macro_rules! handle {
    ($($(#[doc = $doc:literal])+ $name:ident;)+) => {$(
        $(#[doc = $doc])+
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub Key);

        impl $name {
            /// The key register holding it.
            pub fn key(self) -> Key {
                self.0
            }
        }
    )+};
}

handle! {
    /// A data key.
    Data;
    /// A page key.
    Page;
    /// A node key (fetch and sense keys: [`Node::fetch`] and [`Node::databyte`] only).
    Node;
    /// A domain key.
    Domain;
    /// A node range or page range key.
    Range;
    /// A console: a device key, or a start key to the console domain.
    Console;
    /// The returner (misc 0).
    Returner;
    /// The domain tool (misc 2).
    DomainTool;
    /// The keybits key (misc 4).
    Keybits;
    /// The data-key creator (misc 6).
    DataKeyCreator;
    /// The discrim key (misc 8).
    Discrim;
    /// A BWAIT object (misc 12).
    Bwait;
    /// The checkpoint key (misc 18).
    Checkpoint;
    /// The error key (misc 22).
    Error;
    /// The journalize key (misc 28).
    Journalize;
    /// The migrate key (misc 42).
    Migrate;
    /// The system timer (misc 50).
    Timer;
    /// The device creator (misc 64).
    DeviceCreator;
    /// A space bank (a front-end key to the bank domain).
    Bank;
    /// The key-value store.
    Kv;
}

fn code(key: Key, order: u32) -> u32 {
    key.call(Msg::new(order)).rc
}

fn get_key(key: Key, order: u32, to: Key) -> u32 {
    key.call(Msg::new(order).receive_keys(&[to])).rc
}

fn with_key(key: Key, order: u32, k: Key) -> u32 {
    key.call(Msg::new(order).keys(&[k])).rc
}

fn u64_reply(key: Key, msg: Msg<'_>) -> (u32, u64) {
    let mut b = [0u8; 8];
    let rc = key.call(msg.receive(&mut b)).rc;
    (rc, u64::from_le_bytes(b))
}

impl Data {
    /// The data key's value (8 bytes, little endian).
    pub fn value(self) -> u64 {
        u64_reply(self.0, Msg::new(0)).1
    }
}

impl Page {
    /// A read-only key to the page, into `to`.
    pub fn make_read_only(self, to: Key) -> u32 {
        get_key(self.0, abi::PAGE_MAKE_READ_ONLY, to)
    }
    /// Zeroes the page.
    pub fn clear(self) -> u32 {
        code(self.0, abi::PAGE_CLEAR)
    }
    /// Whether the page is all zero.
    pub fn is_zero(self) -> bool {
        code(self.0, abi::PAGE_TEST_ZERO) == 0
    }
    /// Writes `bytes` at `offset` (rc 1 past the end).
    pub fn write(self, offset: u32, bytes: &[u8]) -> u32 {
        self.0.call(Msg::new(abi::PAGE_WRITE + offset).string(bytes)).rc
    }
}

impl Node {
    /// Slot `slot` into `to`.
    pub fn fetch(self, slot: u32, to: Key) -> u32 {
        get_key(self.0, abi::NODE_FETCH + slot, to)
    }
    /// Puts `from` in `slot`; the old key goes to `to`.
    pub fn swap(self, slot: u32, from: Key, to: Key) -> u32 {
        self.0.call(Msg::new(abi::NODE_SWAP + slot).keys(&[from]).receive_keys(&[to])).rc
    }
    fn make(self, order: u32, databyte: u8, to: Key) -> u32 {
        self.0.call(Msg::new(order).string(&[databyte]).receive_keys(&[to])).rc
    }
    /// A fetch key with `databyte`, into `to`.
    pub fn make_fetch(self, databyte: u8, to: Key) -> u32 {
        self.make(abi::NODE_MAKE_FETCH, databyte, to)
    }
    /// A segment key with `databyte`, into `to`.
    pub fn make_segment(self, databyte: u8, to: Key) -> u32 {
        self.make(abi::NODE_MAKE_SEGMENT, databyte, to)
    }
    /// A node key with `databyte`, into `to`.
    pub fn make_node(self, databyte: u8, to: Key) -> u32 {
        self.make(abi::NODE_MAKE_NODE, databyte, to)
    }
    /// A meter key, into `to`.
    pub fn make_meter(self, to: Key) -> u32 {
        get_key(self.0, abi::NODE_MAKE_METER, to)
    }
    /// A sense key, into `to`.
    pub fn make_sense(self, to: Key) -> u32 {
        get_key(self.0, abi::NODE_MAKE_SENSE, to)
    }
    /// Whether `k` designates this node.
    pub fn designates(self, k: Key) -> bool {
        with_key(self.0, abi::NODE_COMPARE, k) == 0
    }
    /// Every slot DK(0).
    pub fn clear(self) -> u32 {
        code(self.0, abi::NODE_CLEAR)
    }
    /// The key's databyte.
    pub fn databyte(self) -> u32 {
        code(self.0, abi::NODE_DATABYTE)
    }
    /// Writes data keys with the 16-byte `images` into slots `first..`.
    pub fn write_data(self, first: u32, images: &[[u8; 16]]) -> u32 {
        let mut msg = [0u8; 8 + 16 * 16];
        let n = images.len().min(16);
        let last = (first as usize + n).saturating_sub(1) as u32;
        msg[..4].copy_from_slice(&first.to_le_bytes());
        msg[4..8].copy_from_slice(&last.to_le_bytes());
        for (i, image) in images.iter().take(n).enumerate() {
            msg[8 + 16 * i..24 + 16 * i].copy_from_slice(image);
        }
        self.0.call(Msg::new(abi::NODE_WRITE_DATA).string(&msg[..8 + 16 * n])).rc
    }
}

/// A domain's control: pc, trap code, trap detail, state (0 available, 1 running, 2 waiting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Control {
    /// The program counter.
    pub pc: u32,
    /// The trap code (0: none).
    pub trap_code: u32,
    /// The trap's detail.
    pub trap_detail: u32,
    /// The run state.
    pub state: u32,
}

fn words<const N: usize>(bytes: &[u8]) -> [u32; N] {
    core::array::from_fn(|i| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes")))
}

fn le_bytes<const N: usize, const B: usize>(words: &[u32; N]) -> [u8; B] {
    let mut b = [0u8; B];
    for (i, w) in words.iter().enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    b
}

impl Domain {
    /// Root slot `slot` (1, 2, 3, 10, 11, 12) into `to`.
    pub fn get_slot(self, slot: u32, to: Key) -> u32 {
        get_key(self.0, abi::DOMAIN_GET_SLOT + slot, to)
    }
    /// Swaps root slot `slot` (1, 2, 3, 10, 12) with `from`; the old key to `to`.
    pub fn swap_slot(self, slot: u32, from: Key, to: Key) -> u32 {
        self.0.call(Msg::new(abi::DOMAIN_SWAP_SLOT + slot).keys(&[from]).receive_keys(&[to])).rc
    }
    /// Key register `reg` of the domain into `to`.
    pub fn get_key(self, reg: u32, to: Key) -> u32 {
        get_key(self.0, abi::DOMAIN_GET_KEY + reg, to)
    }
    /// Swaps key register `reg` with `from`; the old key to `to`.
    pub fn swap_key(self, reg: u32, from: Key, to: Key) -> u32 {
        self.0.call(Msg::new(abi::DOMAIN_SWAP_KEY + reg).keys(&[from]).receive_keys(&[to])).rc
    }
    /// A start key with `databyte`, into `to`.
    pub fn make_start(self, databyte: u8, to: Key) -> u32 {
        self.0.call(Msg::new(abi::DOMAIN_MAKE_START).string(&[databyte]).receive_keys(&[to])).rc
    }
    /// Makes it available (rc 1: it was busy).
    pub fn make_available(self) -> u32 {
        code(self.0, abi::DOMAIN_MAKE_AVAILABLE)
    }
    /// A fault key, into `to` (rc 1: busy).
    pub fn make_fault_key(self, to: Key) -> u32 {
        get_key(self.0, abi::DOMAIN_MAKE_FAULT_KEY, to)
    }
    /// Makes it busy; a fault key into `to` (rc 1: it was busy).
    pub fn make_busy(self, to: Key) -> u32 {
        get_key(self.0, abi::DOMAIN_MAKE_BUSY, to)
    }
    /// A return key, into `to` (rc 1: busy).
    pub fn make_return_key(self, to: Key) -> u32 {
        get_key(self.0, abi::DOMAIN_MAKE_RETURN_KEY, to)
    }
    /// Its control.
    pub fn control(self) -> (u32, Control) {
        let mut b = [0u8; 16];
        let rc = self.0.call(Msg::new(abi::DOMAIN_GET_CONTROL).receive(&mut b)).rc;
        let [pc, trap_code, trap_detail, state] = words::<4>(&b);
        (rc, Control { pc, trap_code, trap_detail, state })
    }
    /// Sets pc, trap code and detail.
    pub fn put_control(self, c: Control) -> u32 {
        let b: [u8; 12] = le_bytes(&[c.pc, c.trap_code, c.trap_detail]);
        self.0.call(Msg::new(abi::DOMAIN_PUT_CONTROL).string(&b)).rc
    }
    /// pc and x1..x31.
    pub fn registers(self) -> (u32, [u32; 32]) {
        let mut b = [0u8; 128];
        let rc = self.0.call(Msg::new(abi::DOMAIN_GET_REGS).receive(&mut b)).rc;
        (rc, words::<32>(&b))
    }
    /// Sets pc and x1..x31.
    pub fn put_registers(self, regs: &[u32; 32]) -> u32 {
        let b: [u8; 128] = le_bytes(regs);
        self.0.call(Msg::new(abi::DOMAIN_PUT_REGS).string(&b)).rc
    }
    /// Replaces its address segment by `segment` and its pc by `pc`.
    pub fn replace_memory(self, segment: Key, pc: u32) -> u32 {
        self.0.call(Msg::new(abi::DOMAIN_REPLACE_MEMORY).keys(&[segment]).string(&pc.to_le_bytes())).rc
    }
    /// Whether `k` is a gate (start or return key) to this domain.
    pub fn is_gate(self, k: Key) -> bool {
        with_key(self.0, abi::DOMAIN_COMPARE, k) == 0
    }
}

impl Range {
    /// Creates the object at `offset` (cleared if `clear`), a key into `to`.
    pub fn create(self, offset: u64, clear: bool, to: Key) -> u32 {
        let order = if clear { abi::RANGE_CREATE_CLEAR } else { abi::RANGE_CREATE };
        self.0.call(Msg::new(order).string(&offset.to_le_bytes()).receive_keys(&[to])).rc
    }
    /// The offset of `k`'s object.
    pub fn identify(self, k: Key) -> Result<u64, u32> {
        match u64_reply(self.0, Msg::new(abi::RANGE_IDENTIFY).keys(&[k])) {
            (0, offset) => Ok(offset),
            (rc, _) => Err(rc),
        }
    }
    /// Severs `k`'s object: a new key into `to`, every old one obsolete.
    pub fn sever(self, k: Key, to: Key) -> u32 {
        self.0.call(Msg::new(abi::RANGE_SEVER).keys(&[k]).receive_keys(&[to])).rc
    }
    /// Destroys `k`'s object.
    pub fn destroy(self, k: Key) -> u32 {
        with_key(self.0, abi::RANGE_DESTROY, k)
    }
    /// Destroys the object at `offset`.
    pub fn destroy_at(self, offset: u64) -> u32 {
        self.0.call(Msg::new(abi::RANGE_DESTROY_AT).string(&offset.to_le_bytes())).rc
    }
}

impl Console {
    /// Writes `bytes`.
    pub fn write(self, bytes: &[u8]) -> u32 {
        crate::console::write(self.0, bytes)
    }
    /// Reads up to `buf.len()` bytes of input (a device key); waits for some.
    pub fn read(self, buf: &mut [u8]) -> Result<usize, u32> {
        let wanted = buf.len() as u32;
        let capacity = buf.len();
        let reply = self.0.call(Msg::new(abi::CONSOLE_READ).string(&wanted.to_le_bytes()).receive(buf));
        if reply.rc == 0 { Ok(reply.len_in(capacity)) } else { Err(reply.rc) }
    }
    /// Mutes the console domain's channels whose bits are set.
    pub fn mute(self, mask: u32) -> u32 {
        self.0.call(Msg::new(abi::CONSOLE_DOMAIN_MUTE).string(&mask.to_le_bytes())).rc
    }
}

impl Returner {
    /// Sends `msg` (its keys 0..2 and string) through `resume` with `jump`;
    /// only a resume key to a waiting domain gets it.
    pub fn reply_through(self, msg: Msg<'_>) -> crate::Reply {
        self.0.ret(msg)
    }
}

impl DomainTool {
    /// `node` (a node key) as a domain key into `to` (`abi::DOMAIN_TOOL_RC_NO`: not a node key).
    pub fn make_domain(self, node: Key, to: Key) -> u32 {
        self.0.call(Msg::new(abi::DOMAIN_TOOL_MAKE_DOMAIN).keys(&[node]).receive_keys(&[to])).rc
    }
    /// Identifies `k` by `brand` with one of the identify orders
    /// (`abi::DOMAIN_TOOL_IDENTIFY_*`): `Some(rc)` if it is such a key of
    /// a domain of that brand (rc: the key's databyte, or for segments and
    /// meters the keeper slot · 256 + the keeper key's databyte), with a
    /// node key to the root (or the segment or meter node) into `to`;
    /// `None` if not.
    pub fn identify(self, order: u32, k: Key, brand: Key, to: Key) -> Option<u32> {
        let rc = self.0.call(Msg::new(order).keys(&[k, brand]).receive_keys(&[to])).rc;
        (rc != abi::DOMAIN_TOOL_RC_NO).then_some(rc)
    }
}

impl Keybits {
    /// The 16-byte encoding of `k`.
    pub fn bits(self, k: Key) -> [u8; 16] {
        let mut b = [0u8; 16];
        self.0.call(Msg::new(abi::KEYBITS_GET).keys(&[k]).receive(&mut b));
        b
    }
}

impl DataKeyCreator {
    /// DK(`value`) into `to`.
    pub fn make(self, value: u64, to: Key) -> u32 {
        self.0.call(Msg::new(abi::DKC_FROM_U64).string(&value.to_le_bytes()).receive_keys(&[to])).rc
    }
    /// An 11-byte data key from a 16-byte image, into `to` (rc 1: its first 5 bytes were not zero).
    pub fn from_image(self, image: &[u8; 16], to: Key) -> u32 {
        self.0.call(Msg::new(abi::DKC_FROM_IMAGE).string(image).receive_keys(&[to])).rc
    }
}

impl Discrim {
    /// `abi::DISCRIM_CLASS_*` of `k`.
    pub fn classify(self, k: Key) -> u32 {
        with_key(self.0, abi::DISCRIM_CLASSIFY, k)
    }
    /// Whether `k` is discreet.
    pub fn is_discreet(self, k: Key) -> bool {
        with_key(self.0, abi::DISCRIM_DISCREET, k) == 0
    }
    /// Whether `a` and `b` hold the same key.
    pub fn same(self, a: Key, b: Key) -> bool {
        self.0.call(Msg::new(abi::DISCRIM_COMPARE).keys(&[a, b])).rc == 0
    }
}

impl Timer {
    /// The system time in ns.
    pub fn now(self) -> u64 {
        u64_reply(self.0, Msg::new(abi::TIMER_READ)).1
    }
}

impl Bwait {
    /// Sets the wake time (system time, ns).
    pub fn set(self, wake_ns: u64) -> u32 {
        self.0.call(Msg::new(abi::BWAIT_SET).string(&wake_ns.to_le_bytes())).rc
    }
    /// Waits until the wake time (a restart ends the wait early, with 0).
    pub fn wait(self) -> u32 {
        code(self.0, abi::BWAIT_WAIT)
    }
    /// Sleeps `ns` of system time.
    pub fn sleep(self, timer: Timer, ns: u64) -> u32 {
        match self.set(timer.now() + ns) {
            0 => self.wait(),
            rc => rc,
        }
    }
}

impl Checkpoint {
    /// Waits for a checkpoint taken at or after `t` (`abi::RC_RESTARTED` after a restart).
    pub fn wait(self, t: u64) -> u32 {
        self.0.call(Msg::new(abi::CKPT_WAIT).string(&t.to_le_bytes())).rc
    }
    /// Takes a checkpoint now (`now`: the system time) and waits for it.
    pub fn take(self, now: u64) -> u32 {
        self.0.call(Msg::new(abi::CKPT_TAKE).string(&now.to_le_bytes())).rc
    }
}

impl Error {
    /// Traps this domain (code 9, detail `code`) after the kernel logs `text`.
    pub fn trap(self, code: u32, text: &[u8]) -> u32 {
        self.0.call(Msg::new(code).string(text)).rc
    }
}

impl Journalize {
    /// Journals `page`'s current contents.
    pub fn page(self, page: Key) -> u32 {
        with_key(self.0, abi::JOURNALIZE_PAGE, page)
    }
}

impl Migrate {
    /// Waits for the next migration.
    pub fn wait(self) -> u32 {
        code(self.0, abi::MIGRATE_WAIT)
    }
    /// Moves these home frames (at most 512) to the front of the migration.
    pub fn these(self, homes: &[u64]) -> u32 {
        let mut b = [0u8; 8 * 512];
        let n = homes.len().min(512);
        for (i, h) in homes.iter().take(n).enumerate() {
            b[8 * i..8 * i + 8].copy_from_slice(&h.to_le_bytes());
        }
        self.0.call(Msg::new(abi::MIGRATE_THESE).string(&b[..8 * n])).rc
    }
    /// Directory entries from `first` ((home, frame) u64 pairs) into `buf`:
    /// the bytes read, or the rc (`abi::MIGRATE_RC_DONE` past the end).
    pub fn read_directory(self, first: u32, buf: &mut [u8]) -> Result<usize, u32> {
        let capacity = buf.len();
        let reply = self.0.call(Msg::new(abi::MIGRATE_READ).string(&first.to_le_bytes()).receive(buf));
        if reply.rc == 0 { Ok(reply.len_in(capacity)) } else { Err(reply.rc) }
    }
}

impl DeviceCreator {
    /// A current console device key into `to`.
    pub fn console(self, to: Key) -> u32 {
        get_key(self.0, abi::DEVICE_CREATOR_CONSOLE, to)
    }
}

impl Bank {
    /// A new node, into `to` (`abi::BANK_RC_*`).
    pub fn create_node(self, to: Key) -> u32 {
        get_key(self.0, abi::BANK_CREATE_NODE, to)
    }
    /// A new page, into `to`.
    pub fn create_page(self, to: Key) -> u32 {
        get_key(self.0, abi::BANK_CREATE_PAGE, to)
    }
    /// Gives back the node `k` (bought from this bank).
    pub fn destroy_node(self, k: Key) -> u32 {
        with_key(self.0, abi::BANK_DESTROY_NODE, k)
    }
    /// Gives back the page `k`.
    pub fn destroy_page(self, k: Key) -> u32 {
        with_key(self.0, abi::BANK_DESTROY_PAGE, k)
    }
    /// How many more nodes (`abi::BANK_NODES_AVAILABLE`) or pages (`abi::BANK_PAGES_AVAILABLE`).
    pub fn available(self, order: u32) -> u32 {
        let mut b = [0u8; 4];
        self.0.call(Msg::new(order).receive(&mut b));
        u32::from_le_bytes(b)
    }
    /// A sub-bank with limits (None: unlimited), into `to`.
    pub fn create_bank(self, limits: Option<(u32, u32)>, to: Key) -> u32 {
        let msg = Msg::new(abi::BANK_CREATE_BANK).receive_keys(&[to]);
        match limits {
            Some((nodes, pages)) => {
                let b: [u8; 8] = le_bytes(&[nodes, pages]);
                self.0.call(msg.string(&b)).rc
            }
            None => self.0.call(msg).rc,
        }
    }
    /// Destroys this bank and everything bought from it.
    pub fn destroy(self) -> u32 {
        code(self.0, abi::BANK_DESTROY)
    }
}

impl Kv {
    /// Sets `key` (1..=15 bytes) to `value` (at most 40): 0 once durable.
    pub fn set(self, key: &[u8], value: &[u8]) -> u32 {
        if key.is_empty() || key.len() > abi::KV_MAX_KEY as usize || value.len() > abi::KV_MAX_VALUE as usize
        {
            return abi::KV_RC_BAD_SIZE;
        }
        let mut msg = [0u8; 1 + 15 + 40];
        msg[0] = key.len() as u8;
        msg[1..1 + key.len()].copy_from_slice(key);
        msg[1 + key.len()..1 + key.len() + value.len()].copy_from_slice(value);
        self.0.call(Msg::new(abi::KV_SET).string(&msg[..1 + key.len() + value.len()])).rc
    }
    /// The value of `key` into `buf`: its length, or the rc (`abi::KV_RC_MISSING`).
    pub fn get(self, key: &[u8], buf: &mut [u8]) -> Result<usize, u32> {
        let capacity = buf.len();
        let reply = self.0.call(Msg::new(abi::KV_GET).string(key).receive(buf));
        if reply.rc == 0 { Ok(reply.len_in(capacity)) } else { Err(reply.rc) }
    }
    /// Deletes `key`.
    pub fn delete(self, key: &[u8]) -> u32 {
        self.0.call(Msg::new(abi::KV_DELETE).string(key)).rc
    }
    /// How many entries it holds.
    pub fn count(self) -> u32 {
        code(self.0, abi::KV_COUNT)
    }
}
