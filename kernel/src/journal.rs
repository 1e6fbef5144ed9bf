//! The journal page and journalized pages: contents that outlive a restart.
//!
//! The **journal page** (page CDA 1) is never checkpointed. Every write to
//! it (a store by a domain, or a page-key write) updates its home frame in
//! place and appends a **journal record** holding the whole page, made
//! durable before the write is acknowledged; at restart the newest record
//! is its contents. Its first 40 bytes are kernel fields ([`KernelFields`]),
//! written in place and set again at every restart.
//!
//! **Journalizing** a page (the journalize key) appends a record of its
//! current contents with an **epoch**: the generation of the first
//! checkpoint that will contain those contents anyway. Restart from a
//! checkpoint of generation g applies the newest record of each page whose
//! epoch is greater than g.
//!
//! A record is written data frame first (the one of the slot's two that the
//! slot's current record does not use), then both descriptor copies, each
//! step synced (`disk_image::journal`); a slot is reused only when its record
//! is no longer needed (a newer record of the same page is durable, or a
//! checkpoint containing it is committed).

use disk_image::journal::JournalDescriptor;
use disk_image::storage::Storage;
use disk_image::{FRAME_SIZE, Frame, Layout, OpenedImage, Region, StorageError, frame};

use crate::key::Cda;

/// The journal page.
pub const JOURNAL_PAGE: Cda = Cda(1);

/// Kernel fields at the start of the journal page (little-endian u64s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelFields {
    /// System time of the newest committed checkpoint.
    pub last_checkpoint_ns: u64,
    /// System time of the checkpoint the system last restarted from.
    pub restart_checkpoint_ns: u64,
    /// System time of the last restart.
    pub restart_ns: u64,
    /// Restarts since the image was formatted.
    pub restarts: u64,
    /// The wall clock (Unix ns) at the last restart, as the system clock
    /// was derived from it: the checkpoint's wall clock plus the system
    /// time since the checkpoint. Wall time now is this plus the system
    /// time since `restart_ns` (the clock domain reads it).
    pub restart_wall_ns: u64,
}

impl KernelFields {
    /// Byte offset of `last_checkpoint_ns`; the others follow, 8 bytes each.
    pub const OFFSET: usize = 0;
    /// Bytes the fields take.
    pub const BYTES: usize = 40;

    /// Encodes the fields.
    pub fn encode(&self) -> [u8; Self::BYTES] {
        let mut b = [0u8; Self::BYTES];
        let words = [
            self.last_checkpoint_ns,
            self.restart_checkpoint_ns,
            self.restart_ns,
            self.restarts,
            self.restart_wall_ns,
        ];
        for (i, v) in words.iter().enumerate() {
            b[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// Decodes the fields.
    pub fn decode(b: &[u8]) -> KernelFields {
        let word = |i: usize| frame::read_u64(b, 8 * i);
        KernelFields {
            last_checkpoint_ns: word(0),
            restart_checkpoint_ns: word(1),
            restart_ns: word(2),
            restarts: word(3),
            restart_wall_ns: word(4),
        }
    }
}

/// Why a record could not be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalFull;

/// The journal slots and what they hold.
pub struct Journal {
    layout: Layout,
    records: Vec<Option<JournalDescriptor>>,
    next_sequence: u64,
}

impl Journal {
    /// The journal of an opened image (its valid records); damaged records
    /// are an error.
    pub fn load(opened: &OpenedImage, storage: &dyn Storage) -> Result<Journal, disk_image::ImageError> {
        let mut records = vec![None; opened.layout.geometry.journal_slots as usize];
        for r in opened.journal_records(storage)? {
            records[r.slot as usize] = Some(r.descriptor);
        }
        let next_sequence = records.iter().flatten().map(|d| d.sequence + 1).max().unwrap_or(1);
        Ok(Journal { layout: opened.layout, records, next_sequence })
    }

    /// Home frame of the journal page.
    pub fn page_home(&self) -> u64 {
        self.layout.page_frame(JOURNAL_PAGE.number())
    }

    fn newest(&self, page: u64) -> Option<(usize, JournalDescriptor)> {
        self.records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.filter(|d| d.page == page).map(|d| (i, d)))
            .max_by_key(|(_, d)| d.sequence)
    }

    fn is_live(&self, d: &JournalDescriptor, committed: u64) -> bool {
        let newest = self.newest(d.page).map(|(_, n)| n.sequence) == Some(d.sequence);
        newest && (d.page == JOURNAL_PAGE.number() || d.epoch > committed)
    }

    /// Slots whose records are no longer needed.
    pub fn free_slots(&self, committed: u64) -> usize {
        self.records.iter().filter(|r| r.is_none_or(|d| !self.is_live(&d, committed))).count()
    }

    /// Appends a durable record of `data` as the contents of `page`.
    /// `committed` is the newest committed generation (older records are
    /// dead); `epoch` is the first generation that will contain the data.
    pub fn append(
        &mut self,
        storage: &dyn Storage,
        page: u64,
        data: &Frame,
        epoch: u64,
        allocation_id: u32,
        committed: u64,
    ) -> Result<Result<(), JournalFull>, StorageError> {
        let Some(slot) =
            (0..self.records.len()).find(|&i| self.records[i].is_none_or(|d| !self.is_live(&d, committed)))
        else {
            return Ok(Err(JournalFull));
        };
        let frames = self.layout.journal_slot(slot as u32);
        let data_index = self.records[slot].map_or(0, |d| 1 - d.data_index);
        let data_frame = frames.data[data_index as usize];
        storage.write(data_frame, 0, &data[..])?;
        storage.sync(Region { first: data_frame, count: 1 })?;
        let d = JournalDescriptor {
            page,
            epoch,
            sequence: self.next_sequence,
            data_checksum: frame::checksum(&data[..]),
            allocation_id,
            data_index,
        };
        self.next_sequence += 1;
        let encoded = d.encode();
        for copy in 0..2 {
            storage.write(frames.descriptors.first + copy, 0, &encoded[..])?;
        }
        storage.sync(frames.descriptors)?;
        self.records[slot] = Some(d);
        Ok(Ok(()))
    }

    /// The records a restart from generation `generation` applies: the
    /// newest of each page, if it is the journal page's or newer than the
    /// checkpoint. Each with its data.
    pub fn to_apply(&self, storage: &dyn Storage, generation: u64) -> Vec<(JournalDescriptor, Box<Frame>)> {
        let mut pages: Vec<u64> = self.records.iter().flatten().map(|d| d.page).collect();
        pages.sort_unstable();
        pages.dedup();
        pages
            .into_iter()
            .filter_map(|p| self.newest(p))
            .filter(|(_, d)| d.page == JOURNAL_PAGE.number() || d.epoch > generation)
            .map(|(slot, d)| {
                (d, storage.read_frame(self.layout.journal_slot(slot as u32).data[d.data_index as usize]))
            })
            .collect()
    }

    /// Records held (for inspection).
    pub fn len(&self) -> usize {
        self.records.iter().flatten().count()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Size of the journal page.
pub const PAGE_BYTES: usize = FRAME_SIZE;
