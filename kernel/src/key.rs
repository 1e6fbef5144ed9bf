//! Keys: the only form of authority.
//!
//! A key is 16 bytes, the same in a node slot on disk and in the kernel's
//! hands. Its layout:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | key type ([`KeyType`]) |
//! | 1 | databyte: read-only 0x80, no-call 0x40, lss in the low nibble (memory keys); brand of a start key; kind of a resume key |
//! | 2..4 | subtype (`u16`): misc-key subtype, device class |
//! | 4..8 | allocation id of the object (object keys), call id (resume keys), object count (range keys) |
//! | 8..16 | CDA of the object (object keys), first CDA (range keys), restart stamp (device keys) |
//!
//! A **data key** instead holds an 11-byte value in bytes 5..16 (bytes 1..5
//! are zero); `DK(n)` for a number `n` holds it little-endian in bytes 8..16.
//!
//! A key to a page or node is valid only while its allocation id equals the
//! object's; after the object is severed, fetching or invoking the key gives
//! `DK(0)` (the check is made at every use: see `object`).

use bitflags::bitflags;

/// Bytes in an encoded key.
pub const KEY_BYTES: usize = 16;
/// Bit 47 of a CDA marks a node; without it the CDA is a page number.
pub const NODE_CDA_BIT: u64 = 1 << 47;
/// Largest CDA value (48 bits).
pub const CDA_MASK: u64 = (1 << 48) - 1;

/// A coded disk address: names a page or a node for its whole life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cda(pub u64);

impl Cda {
    /// The CDA of page number `n`.
    pub fn page(n: u64) -> Cda {
        Cda(n & !NODE_CDA_BIT & CDA_MASK)
    }

    /// The CDA of node number `n`.
    pub fn node(n: u64) -> Cda {
        Cda((n & CDA_MASK) | NODE_CDA_BIT)
    }

    /// Whether it names a node.
    pub fn is_node(self) -> bool {
        self.0 & NODE_CDA_BIT != 0
    }

    /// Page or node number.
    pub fn number(self) -> u64 {
        self.0 & !NODE_CDA_BIT & CDA_MASK
    }
}

impl std::fmt::Display for Cda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_node() { write!(f, "node {}", self.number()) } else { write!(f, "page {}", self.number()) }
    }
}

/// The kind of a key (KeyKOS type codes, `Base/keytypeh.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum KeyType {
    /// A number; also what every obsolete key becomes.
    Data = 0,
    /// A page.
    Page = 1,
    /// A node used as a segment (memory tree) with a keeper-respecting databyte.
    Segment = 2,
    /// Full authority over a node.
    Node = 3,
    /// A node viewed as a meter.
    Meter = 4,
    /// Read-only authority over a node's slots.
    Fetch = 5,
    /// A gate to a domain, delivering its databyte.
    Start = 6,
    /// A gate to a waiting domain (restart, return or fault).
    Resume = 7,
    /// Full authority over a domain.
    Domain = 8,
    /// A kernel service chosen by the subtype.
    Misc = 10,
    /// Authority to create and sever nodes in a range of CDAs.
    NodeRange = 11,
    /// Authority to create and sever pages in a range of CDAs.
    PageRange = 12,
    /// Weakened read-only node access: fetched keys are made sensory.
    Sense = 15,
    /// An I/O device; stale after a restart.
    Device = 16,
}

impl KeyType {
    /// Decodes a type byte; `None` for codes no key may carry.
    pub fn from_code(code: u8) -> Option<KeyType> {
        use KeyType::*;
        Some(match code {
            0 => Data,
            1 => Page,
            2 => Segment,
            3 => Node,
            4 => Meter,
            5 => Fetch,
            6 => Start,
            7 => Resume,
            8 => Domain,
            10 => Misc,
            11 => NodeRange,
            12 => PageRange,
            15 => Sense,
            16 => Device,
            _ => return None,
        })
    }

    /// Whether keys of this type designate a node through a CDA and allocation id.
    pub fn designates_node(self) -> bool {
        use KeyType::*;
        matches!(self, Segment | Node | Meter | Fetch | Sense | Start | Resume | Domain)
    }
}

bitflags! {
    /// Authority bits of a memory key's databyte (page and segment-mode keys).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MemoryFlags: u8 {
        /// Writes through this key fault (fault code 1).
        const READ_ONLY = 0x80;
        /// No segment keeper at or below this key is ever invoked.
        const NO_CALL = 0x40;
    }
}

/// Kinds of resume key, carried in the databyte (`Base/keytypeh.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ResumeKind {
    /// Resumes the domain without delivering a message.
    Restart = 0,
    /// Delivers the message to the waiting domain.
    Return = 2,
    /// Resumes a domain stopped by a fault or trap (a keeper's key).
    Fault = 4,
}

impl ResumeKind {
    /// Decodes a resume key's databyte.
    pub fn from_databyte(b: u8) -> Option<ResumeKind> {
        match b {
            0 => Some(ResumeKind::Restart),
            2 => Some(ResumeKind::Return),
            4 => Some(ResumeKind::Fault),
            _ => None,
        }
    }
}

/// Subtypes of misc keys (KeyKOS numbering, `Base/keytypeh.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum MiscKind {
    /// Returns keys to the caller, or replies through a passed resume key.
    Returner = 0,
    /// Identifies start/resume/domain keys of a given brand.
    DomainTool = 2,
    /// Returns a key's 16-byte encoding.
    Keybits = 4,
    /// Makes data keys from strings.
    DataKeyCreator = 6,
    /// Classifies and compares keys.
    Discrim = 8,
    /// A timer wait object (not checkpointed).
    Bwait = 12,
    /// Takes or waits for a system-wide checkpoint.
    Checkpoint = 18,
    /// Reports an error and stops the invoker.
    Error = 22,
    /// Updates the checkpointed image of a page to its current contents.
    Journalize = 28,
    /// Drives migration (the External Migrator Tool).
    Migrate = 42,
    /// Reads the system timer.
    SystemTimer = 50,
    /// Makes fresh device keys after a restart.
    DeviceCreator = 64,
}

impl MiscKind {
    /// Decodes a misc-key subtype.
    pub fn from_code(code: u16) -> Option<MiscKind> {
        use MiscKind::*;
        [
            Returner,
            DomainTool,
            Keybits,
            DataKeyCreator,
            Discrim,
            Bwait,
            Checkpoint,
            Error,
            Journalize,
            Migrate,
            SystemTimer,
            DeviceCreator,
        ]
        .into_iter()
        .find(|k| *k as u16 == code)
    }
}

/// A key value: 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Key([u8; KEY_BYTES]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.key_type() {
            Some(KeyType::Data) => write!(f, "DK({:#x})", self.data_value()),
            Some(t) if t.designates_node() || t == KeyType::Page => {
                write!(
                    f,
                    "{t:?}({}, alloc {}, db {:#04x})",
                    self.cda(),
                    self.allocation_id(),
                    self.databyte()
                )
            }
            Some(t) => write!(
                f,
                "{t:?}(sub {}, db {:#04x}, {:#x}, {:#x})",
                self.subtype(),
                self.databyte(),
                self.allocation_id(),
                self.body()
            ),
            None => write!(f, "Key(invalid {:02x?})", self.0),
        }
    }
}

impl Key {
    /// `DK(0)`: the null key, and what obsolete keys read as.
    pub const NULL: Key = Key([0; KEY_BYTES]);

    /// Reconstructs a key from its encoding.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Key {
        Key(bytes)
    }

    /// The 16-byte encoding.
    pub fn to_bytes(self) -> [u8; KEY_BYTES] {
        self.0
    }

    fn with(kind: KeyType, databyte: u8, subtype: u16, id: u32, body: u64) -> Key {
        let mut b = [0u8; KEY_BYTES];
        b[0] = kind as u8;
        b[1] = databyte;
        b[2..4].copy_from_slice(&subtype.to_le_bytes());
        b[4..8].copy_from_slice(&id.to_le_bytes());
        b[8..16].copy_from_slice(&body.to_le_bytes());
        Key(b)
    }

    /// `DK(value)`.
    pub fn data(value: u64) -> Key {
        Key::with(KeyType::Data, 0, 0, 0, value)
    }

    /// A data key holding an 11-byte value.
    pub fn data_bytes(value: [u8; 11]) -> Key {
        let mut b = [0u8; KEY_BYTES];
        b[5..].copy_from_slice(&value);
        Key(b)
    }

    /// A key of type `kind` to the object `cda` made with `allocation_id`.
    pub fn object(kind: KeyType, cda: Cda, allocation_id: u32, databyte: u8) -> Key {
        Key::with(kind, databyte, 0, allocation_id, cda.0)
    }

    /// A resume key of `kind` to the domain rooted at `root`, valid for `call_id`.
    pub fn resume(kind: ResumeKind, root: Cda, call_id: u32) -> Key {
        Key::with(KeyType::Resume, kind as u8, 0, call_id, root.0)
    }

    /// A misc key of `kind`.
    pub fn misc(kind: MiscKind) -> Key {
        Key::with(KeyType::Misc, 0, kind as u16, 0, 0)
    }

    /// A misc key of `kind` with an index (e.g. which BWAIT object).
    pub fn misc_indexed(kind: MiscKind, index: u32) -> Key {
        Key::with(KeyType::Misc, 0, kind as u16, index, 0)
    }

    /// A range key over `count` objects starting at `first`.
    pub fn range(kind: KeyType, first: Cda, count: u32) -> Key {
        debug_assert!(matches!(kind, KeyType::NodeRange | KeyType::PageRange), "KEY001 not a range type");
        Key::with(kind, 0, 0, count, first.0)
    }

    /// A device key for `class`/`unit`, valid in the restart with `stamp`.
    pub fn device(class: u16, unit: u8, stamp: u64) -> Key {
        Key::with(KeyType::Device, unit, class, 0, stamp)
    }

    /// The type, or `None` for a byte no valid key carries (treated as DK(0)).
    pub fn key_type(self) -> Option<KeyType> {
        KeyType::from_code(self.0[0])
    }

    /// The type, with invalid codes read as data.
    pub fn kind(self) -> KeyType {
        self.key_type().unwrap_or(KeyType::Data)
    }

    /// The databyte.
    pub fn databyte(self) -> u8 {
        self.0[1]
    }

    /// The subtype field (misc subtype, device class).
    pub fn subtype(self) -> u16 {
        u16::from_le_bytes([self.0[2], self.0[3]])
    }

    /// Allocation id, call id or count, by type.
    pub fn allocation_id(self) -> u32 {
        u32::from_le_bytes(self.0[4..8].try_into().expect("4 bytes"))
    }

    /// The body: CDA, first CDA or stamp, by type.
    pub fn body(self) -> u64 {
        u64::from_le_bytes(self.0[8..16].try_into().expect("8 bytes"))
    }

    /// The designated object's CDA (object and range keys).
    pub fn cda(self) -> Cda {
        Cda(self.body() & CDA_MASK)
    }

    /// The numeric value of a data key (bytes 8..16).
    pub fn data_value(self) -> u64 {
        self.body()
    }

    /// The 11-byte value of a data key.
    pub fn data_body(self) -> [u8; 11] {
        self.0[5..].try_into().expect("11 bytes")
    }

    /// Memory flags of a page or segment-mode key.
    pub fn memory_flags(self) -> MemoryFlags {
        MemoryFlags::from_bits_truncate(self.databyte())
    }

    /// lss (log16 of slot size) of a segment-mode key.
    pub fn lss(self) -> u8 {
        self.databyte() & 0x0F
    }

    /// The same key with another databyte.
    pub fn with_databyte(self, databyte: u8) -> Key {
        let mut b = self.0;
        b[1] = databyte;
        Key(b)
    }

    /// The same key with another type (same object, allocation id, databyte).
    pub fn with_type(self, kind: KeyType) -> Key {
        let mut b = self.0;
        b[0] = kind as u8;
        Key(b)
    }

    /// Whether it is DK(0) or an invalid encoding read as such.
    pub fn is_null(self) -> bool {
        self == Key::NULL
    }

    /// The misc subtype of a misc key.
    pub fn misc_kind(self) -> Option<MiscKind> {
        (self.kind() == KeyType::Misc).then(|| MiscKind::from_code(self.subtype())).flatten()
    }

    /// The kind of a resume key.
    pub fn resume_kind(self) -> Option<ResumeKind> {
        (self.kind() == KeyType::Resume).then(|| ResumeKind::from_databyte(self.databyte())).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_type() -> impl Strategy<Value = KeyType> {
        (0u8..=16).prop_filter_map("valid type", KeyType::from_code)
    }

    proptest! {
        #[test]
        fn object_keys_round_trip(kind in any_type(), node in any::<bool>(), n in 0u64..(1 << 40), alloc in any::<u32>(), db in any::<u8>()) {
            let cda = if node { Cda::node(n) } else { Cda::page(n) };
            let key = Key::object(kind, cda, alloc, db);
            let back = Key::from_bytes(key.to_bytes());
            prop_assert_eq!(back, key);
            prop_assert_eq!(back.key_type(), Some(kind));
            prop_assert_eq!(back.cda(), cda);
            prop_assert_eq!(back.cda().is_node(), node);
            prop_assert_eq!(back.allocation_id(), alloc);
            prop_assert_eq!(back.databyte(), db);
        }

        #[test]
        fn data_keys_round_trip(v in any::<u64>(), raw in any::<[u8; 11]>()) {
            let k = Key::data(v);
            prop_assert_eq!(Key::from_bytes(k.to_bytes()).data_value(), v);
            prop_assert_eq!(k.kind(), KeyType::Data);
            let r = Key::data_bytes(raw);
            prop_assert_eq!(Key::from_bytes(r.to_bytes()).data_body(), raw);
            prop_assert_eq!(r.kind(), KeyType::Data);
        }

        #[test]
        fn every_encoding_decodes_without_panic(bytes in any::<[u8; 16]>()) {
            let k = Key::from_bytes(bytes);
            let _ = (k.kind(), k.cda(), k.misc_kind(), k.resume_kind(), format!("{k:?}"));
        }
    }

    #[test]
    fn null_is_dk0_and_resume_kinds_decode() {
        assert_eq!(Key::NULL, Key::data(0));
        assert_eq!(Key::resume(ResumeKind::Return, Cda::node(3), 9).resume_kind(), Some(ResumeKind::Return));
        assert_eq!(Key::misc(MiscKind::Discrim).misc_kind(), Some(MiscKind::Discrim));
        assert_eq!(Key::from_bytes([99; 16]).kind(), KeyType::Data);
    }
}
