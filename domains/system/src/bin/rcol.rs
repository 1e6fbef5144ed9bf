//! Record collections (KeyKOS `Dom/include/rc.h`, `Dom/fundamental/tdo.ck`):
//! named records of up to 512 bytes, each with an optional key, in name
//! order. Its reference is design.md §24 ("Record collections").
//!
//! **The factory** (RCF) is a start key to this server with databyte 0xFF:
//! order 0 (entry sequence) or 1 (name sequence), + 2 × the longest record
//! (0: 512), keys (psb, meter, sb) → rc 0 + key 0 a new collection, bought
//! from psb; rc 1 psb is not an official bank, 2 it has no room; KT 0x0F.
//!
//! **A collection** is a front-end node (`system::object`, facet = its
//! rights, the RCOL_NO_* bits) whose slot 0 holds a node key to its
//! **state node**: 0 the data segment (an lss-4 node: header page and cell
//! pages, `system::records`), 1 the bank, 2 the key tree (three levels of
//! nodes; a record's key at its cell number), 3 the chain of its front
//! ends (each front end's slot 1 the next), 4 DK(kind | longest << 8).
//! Every node and page is bought from the bank, as needed, and sold back
//! when no longer needed (Delete trims empty cell pages; Empty and KT+4
//! sell everything).
//!
//! | order | string in | reply |
//! |---|---|---|
//! | 0 Weaken | u32 rights to add | u32 rights + key 0 (7: not 4 bytes) |
//! | 1 Empty | | 0 |
//! | 2 / 5 AddReplace(Key) | record | 0 added (entry sequence: + [4, name]); 1 + old record + old key, 2 + old record |
//! | 3 / 6 Add(Key) | record | 0; 3 the name exists; entry sequence: name 4 zero bytes, + [4, name] |
//! | 4 / 7 Replace(Key) | record | 1 + old record + old key, 2 + old record; 4 none |
//! | 8 / 14 GetFirst / GetLast | | 0 + record, 1 + record + key; 4 none |
//! | 9..13 Get < ≤ = ≥ > | record (its name) | as 8 |
//! | 15 Delete (name sequence) | record (its name) | 0 + record + key; 4 |
//! | 16 TruncateAtName | name | entry sequence: 0, 4; name sequence: Delete |
//! | 17 TruncateAfterName | name or nothing | entry sequence: 0, 4 |
//! | 18 / 19 Write / ReadUserData | ≤ 128 bytes | 0; 6 too long |
//! | KT | | 0x16 / 0x17 + u32 rights, records, longest, most records |
//! | KT+4 | | 0: everything goes back to the bank |
//!
//! Other return codes (`abi::RCOL_RC_*`): 7 bad entry-sequence name, 8
//! the rights forbid it, 9 / 10 the bank has no node / page, 11 full
//! (1008 records), 12 the record is longer than the collection's longest,
//! KT+3 the name length runs past the record.
//!
//! Keys: the server registers of `system::object::reg`; k7 a node key to
//! its window node (`system::window`). *Divergences:* entry-sequence
//! names are big-endian u32s (so name order is number order, as on
//! KeyKOS's big-endian machines); KT's statistics are four u32s; Replace
//! and AddReplace check RCOL_NO_UPDATE (TDO ignores it).

#![no_std]
#![no_main]

use gnosis::keys::{Bank, DataKeyCreator, Discrim, Node, Returner};
use gnosis::server::{Reply, Request, serve};
use gnosis::{Key, Msg, abi};
use system::object::{self, reg};
use system::records::{self, Collection, MAX_RECORD, PAGE};
use system::window::Window;

const WINDOW: Key = Key::new(7);
/// The state node of the collection being served.
const STATE: Key = Key::new(8);
/// Its bank.
const BANK: Key = Key::new(9);
const T1: Key = Key::new(10);
const T2: Key = Key::new(11);
/// A request's key 0: the record's key, or (to the factory) psb.
const ARG: Key = reg::ARG[0];
const T3: Key = reg::ARG[1];
/// The key a reply carries (k14 holds the front end only until its state is read).
const OUT: Key = reg::FRONT;

/// Front-end kind of a record collection.
const KIND: u8 = b'R';
/// The factory's facet.
const CREATOR: u8 = 0xFF;
/// Every rights bit.
const RIGHTS: u8 = 0x7F;
/// Front-end slots.
const F_STATE: u32 = 0;
const F_NEXT: u32 = 1;
/// State-node slots.
const S_DATA: u32 = 0;
const S_BANK: u32 = 1;
const S_KEYS: u32 = 2;
const S_FRONTS: u32 = 3;
const S_SHAPE: u32 = 4;
/// Kinds (the factory's order code's low bit).
const ENTRY_SEQUENCE: u64 = 0;
/// Chains are at most one front end per rights value long.
const MAX_FRONTS: usize = 1 + RIGHTS as usize;

type Answer<'r> = Result<Reply<'r>, u32>;

fn main() {
    let mut window = Window::new(WINDOW);
    let mut request = [0u8; MAX_RECORD + 1];
    let mut out = [0u8; MAX_RECORD];
    serve(Returner(reg::RETURNER), &mut request, &mut out, |req, out| {
        let answer =
            if req.databyte == CREATOR { create(req) } else { serve_collection(&mut window, req, out) };
        answer.unwrap_or_else(Reply::code)
    })
}

gnosis::entry!(main);

fn bank() -> Bank {
    Bank(BANK)
}

fn dkc() -> DataKeyCreator {
    DataKeyCreator(reg::DKC)
}

/// Whether key register `k` holds a node (or other non-data) key: slots of
/// the trees this server keeps hold node keys or DK(0).
fn present(k: Key) -> bool {
    Discrim(reg::DISCRIM).classify(k) != abi::DISCRIM_CLASS_DATA
}

/// The factory: a new collection bought from psb (key 0).
fn create<'r>(req: &Request<'_>) -> Answer<'r> {
    if req.order == abi::KT {
        return Ok(Reply::code(abi::AKT_RCF));
    }
    let longest = match req.order >> 1 {
        0 => MAX_RECORD as u32,
        n if n as usize <= MAX_RECORD => n,
        _ => return Err(abi::RC_INVALID),
    };
    if !object::official_bank(ARG) {
        return Err(abi::RCF_RC_NOT_OFFICIAL_BANK);
    }
    let psb = Bank(ARG);
    // The state node, the data segment's root and its first lss-3 node at
    // once, then the header page.
    let three = ARG.call(Msg::new(abi::BANK_CREATE_THREE_NODES).receive_keys(&[STATE, T1, T2])).rc;
    if three != 0 {
        return Err(abi::RCF_RC_NO_SPACE);
    }
    if psb.create_page(T3) != 0 {
        ARG.call(Msg::new(abi::BANK_DESTROY_TWO_NODES).keys(&[STATE, T1]));
        psb.destroy_node(T2);
        return Err(abi::RCF_RC_NO_SPACE);
    }
    Node(T2).swap(0, T3, Key::NULL);
    Node(T2).make_node(3, T3);
    Node(T1).swap(0, T3, Key::NULL);
    Node(T1).make_node(4, T3);
    let state = Node(STATE);
    state.swap(S_DATA, T3, Key::NULL);
    state.swap(S_BANK, ARG, Key::NULL);
    dkc().make(u64::from(req.order & 1) | u64::from(longest) << 8, T1);
    state.swap(S_SHAPE, T1, Key::NULL);
    if object::new_front_end(psb, KIND, 0, T1, T2, OUT).is_err() {
        state.fetch(S_BANK, BANK);
        destroy_all();
        return Err(abi::RCF_RC_NO_SPACE);
    }
    link_front_end(T1);
    Ok(Reply { keys: [OUT, Key::NULL, Key::NULL], ..Reply::code(0) })
}

/// Puts the new front end `node` at the head of STATE's chain.
fn link_front_end(node: Key) {
    Node(node).swap(F_STATE, STATE, Key::NULL);
    Node(STATE).fetch(S_FRONTS, T3);
    Node(node).swap(F_NEXT, T3, Key::NULL);
    Node(STATE).swap(S_FRONTS, node, Key::NULL);
}

/// A call through a collection's front end.
fn serve_collection<'r>(window: &mut Window, req: &Request<'_>, out: &'r mut [u8; MAX_RECORD]) -> Answer<'r> {
    if req.databyte > RIGHTS || object::front_end_tag(T1) != Some(object::tag(KIND, req.databyte)) {
        return Err(abi::RC_INVALID);
    }
    Node(reg::FRONT).fetch(F_STATE, STATE);
    let state = Node(STATE);
    state.fetch(S_BANK, BANK);
    state.fetch(S_SHAPE, T1);
    let shape = object::data_value(T1);
    state.fetch(S_DATA, T1);
    window.show(T1);
    let mut served = Served {
        window,
        rights: req.databyte,
        entry_sequence: shape & 1 == ENTRY_SEQUENCE,
        longest: (shape >> 8) as usize,
    };
    let answer = served.order(req, out);
    // If the collection's bank was destroyed under this request, the
    // window keeper (wkeeper.s) pointed the window at its scratch segment
    // so this server could go on: what was computed means nothing.
    state.fetch(S_DATA, T2);
    if !served.window.shows(T2, T3, Discrim(reg::DISCRIM)) {
        return Err(abi::RC_DATA);
    }
    answer
}

/// What a request through a front end sees.
struct Served<'w> {
    window: &'w mut Window,
    rights: u8,
    entry_sequence: bool,
    longest: usize,
}

/// How a record is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    Add,
    Replace,
    AddReplace,
}

/// Copies `bytes` into `out`; the reply's string is `out[..n]`.
fn copy(out: &mut [u8; MAX_RECORD], bytes: &[u8]) -> usize {
    let n = bytes.len().min(MAX_RECORD);
    out[..n].copy_from_slice(&bytes[..n]);
    n
}

/// A reply of `rc`, `out[..len]` and, if `key`, the key in OUT.
fn answer(rc: u32, out: &[u8], key: bool) -> Reply<'_> {
    let keys = [if key { OUT } else { Key::NULL }, Key::NULL, Key::NULL];
    Reply { rc, data: out, keys }
}

impl Served<'_> {
    /// The collection as the window shows it.
    fn view(&mut self) -> Result<Collection<'_>, u32> {
        let pages = records::pages_in(self.window.bytes(PAGE))?;
        Ok(Collection::open(self.window.bytes((1 + pages) * PAGE))?)
    }

    fn allowed(&self, forbidden_by: u32) -> Result<(), u32> {
        if u32::from(self.rights) & forbidden_by != 0 { Err(abi::RCOL_RC_NOT_ALLOWED) } else { Ok(()) }
    }

    fn order<'r>(&mut self, req: &Request<'_>, out: &'r mut [u8; MAX_RECORD]) -> Answer<'r> {
        let data = req.data;
        match req.order {
            abi::KT => self.statistics(out),
            abi::RCOL_WEAKEN => self.weaken(data, out),
            abi::RCOL_EMPTY => {
                self.allowed(abi::RCOL_NO_EMPTY)?;
                self.empty().map(|()| Reply::code(0))
            }
            abi::RCOL_ADD_REPLACE..=abi::RCOL_REPLACE_KEY => {
                self.allowed(abi::RCOL_NO_WRITE)?;
                if req.sent > self.longest {
                    return Err(abi::RCOL_RC_MAX_LENGTH);
                }
                let with_key = req.order >= abi::RCOL_ADD_REPLACE_KEY;
                let how = match (req.order - abi::RCOL_ADD_REPLACE) % 3 {
                    0 => Store::AddReplace,
                    1 => Store::Add,
                    _ => Store::Replace,
                };
                self.store(data, with_key, how, out)
            }
            abi::RCOL_GET_FIRST..=abi::RCOL_GET_LAST => {
                self.allowed(abi::RCOL_NO_READ)?;
                self.get(req.order, data, out)
            }
            abi::RCOL_DELETE if self.entry_sequence => Err(abi::RC_INVALID),
            abi::RCOL_DELETE => {
                self.allowed(abi::RCOL_NO_DELETE)?;
                self.delete(data, false, out)
            }
            abi::RCOL_TRUNCATE_AT | abi::RCOL_TRUNCATE_AFTER => {
                self.allowed(abi::RCOL_NO_EMPTY)?;
                self.truncate(req.order, data, out)
            }
            abi::RCOL_WRITE_USER_DATA => {
                self.allowed(abi::RCOL_NO_WRITE_USER)?;
                if req.sent > records::MAX_USER_DATA {
                    return Err(abi::RCOL_RC_LENGTH);
                }
                self.view()?.set_user_data(data)?;
                Ok(Reply::code(0))
            }
            abi::RCOL_READ_USER_DATA => {
                self.allowed(abi::RCOL_NO_READ_USER)?;
                let n = copy(out, self.view()?.user_data()?);
                Ok(Reply::with_data(0, &out[..n]))
            }
            abi::RCOL_DESTROY => {
                self.allowed(abi::RCOL_NO_EMPTY)?;
                self.window.show(Key::NULL);
                destroy_all();
                Ok(Reply::code(0))
            }
            _ => Err(abi::RC_INVALID),
        }
    }

    fn statistics<'r>(&mut self, out: &'r mut [u8; MAX_RECORD]) -> Answer<'r> {
        let count = self.view()?.count()?;
        let fields = [u32::from(self.rights), count as u32, self.longest as u32, abi::RCOL_MAX_RECORDS];
        for (i, f) in fields.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&f.to_le_bytes());
        }
        let akt = if self.entry_sequence { abi::AKT_RC_ENTRY_SEQUENCE } else { abi::AKT_RC_NAME_SEQUENCE };
        Ok(Reply::with_data(akt, &out[..16]))
    }

    /// A key with more rights bits: the front end of those rights (one per
    /// rights value, bought from the collection's bank the first time).
    fn weaken<'r>(&mut self, data: &[u8], out: &'r mut [u8; MAX_RECORD]) -> Answer<'r> {
        let mask: [u8; 4] = data.try_into().map_err(|_| abi::RCOL_RC_BAD_NAME)?;
        let rights = self.rights | (u32::from_le_bytes(mask) as u8 & RIGHTS);
        out[..4].copy_from_slice(&u32::from(rights).to_le_bytes());
        if !find_front_end(rights) {
            object::new_front_end(bank(), KIND, rights, T1, T2, OUT).map_err(|_| abi::RCOL_RC_NO_NODES)?;
            link_front_end(T1);
        }
        Ok(answer(0, &out[..4], true))
    }

    fn store<'r>(
        &mut self,
        record: &[u8],
        with_key: bool,
        how: Store,
        out: &'r mut [u8; MAX_RECORD],
    ) -> Answer<'r> {
        let name = records::name_of(record).ok_or(abi::RCOL_RC_FORMAT)?;
        if self.entry_sequence && how != Store::Replace && name == [0; 4] {
            return self.append(record, with_key, out);
        }
        if self.entry_sequence && (name.len() != 4 || how == Store::Add) {
            return Err(abi::RCOL_RC_BAD_NAME);
        }
        let (lo, hi) = self.view()?.search(name)?;
        match (lo < hi, how) {
            (true, Store::Add) => Err(abi::RCOL_RC_DUPLICATE),
            (true, _) => {
                self.allowed(abi::RCOL_NO_UPDATE)?;
                self.replace(lo, record, with_key, out)
            }
            (false, Store::Replace) => Err(abi::RCOL_RC_NOT_FOUND),
            (false, _) if self.entry_sequence => Err(abi::RCOL_RC_BAD_NAME),
            (false, _) => self.insert(lo, record, with_key).map(|()| Reply::code(0)),
        }
    }

    /// Entry sequence: adds the record under the next number.
    fn append<'r>(&mut self, record: &[u8], with_key: bool, out: &'r mut [u8; MAX_RECORD]) -> Answer<'r> {
        let view = self.view()?;
        let count = view.count()?;
        let last = match count.checked_sub(1) {
            Some(p) => {
                records::name_of(view.at(p)?.1).and_then(|n| n.try_into().ok()).map_or(0, u32::from_be_bytes)
            }
            None => 0,
        };
        let name = last.checked_add(1).ok_or(abi::RCOL_RC_FULL)?.to_be_bytes();
        let mut renamed = [0u8; MAX_RECORD];
        renamed[..record.len()].copy_from_slice(record);
        renamed[1..5].copy_from_slice(&name);
        self.insert(count, &renamed[..record.len()], with_key)?;
        out[0] = 4;
        out[1..5].copy_from_slice(&name);
        Ok(Reply::with_data(0, &out[..5]))
    }

    /// Adds `record` at `position`: a cell (and its page), then its key.
    fn insert(&mut self, position: usize, record: &[u8], with_key: bool) -> Result<(), u32> {
        let view = self.view()?;
        if view.count()? >= records::MAX_RECORDS {
            return Err(abi::RCOL_RC_FULL);
        }
        let cell = view.free_cell()?.ok_or(abi::RCOL_RC_FULL)?;
        let pages = view.pages()?;
        if records::page_of(cell) > pages {
            buy_page(pages + 1)?;
            // The header still counts the old pages, so this view opens.
            self.view()?.set_pages(pages + 1)?;
        }
        if with_key && let Err(rc) = key_leaf(cell, true) {
            self.trim()?;
            return Err(rc);
        }
        self.view()?.insert(position, cell, record, with_key)?;
        if with_key {
            Node(T1).swap(leaf_slot(cell), ARG, Key::NULL);
        }
        Ok(())
    }

    fn replace<'r>(
        &mut self,
        position: usize,
        record: &[u8],
        with_key: bool,
        out: &'r mut [u8; MAX_RECORD],
    ) -> Answer<'r> {
        let view = self.view()?;
        let (cell, old, had_key) = view.at(position)?;
        let n = copy(out, old);
        if with_key {
            key_leaf(cell, true)?;
        }
        match (had_key, with_key) {
            (true, true) => Node(T1).swap(leaf_slot(cell), ARG, OUT),
            (true, false) => take_key(cell, OUT),
            (false, true) => Node(T1).swap(leaf_slot(cell), ARG, Key::NULL),
            (false, false) => 0,
        };
        self.view()?.overwrite(cell, record, with_key)?;
        let rc = if had_key { abi::RCOL_RC_WITH_KEY } else { abi::RCOL_RC_NO_KEY_REPLACED };
        Ok(answer(rc, &out[..n], had_key))
    }

    fn get<'r>(&mut self, order: u32, data: &[u8], out: &'r mut [u8; MAX_RECORD]) -> Answer<'r> {
        let view = self.view()?;
        let count = view.count()?;
        let position = match order {
            abi::RCOL_GET_FIRST => (count > 0).then_some(0),
            abi::RCOL_GET_LAST => count.checked_sub(1),
            _ => {
                let (lo, hi) = view.search(records::name_of(data).ok_or(abi::RCOL_RC_FORMAT)?)?;
                match order {
                    abi::RCOL_GET_LESS => lo.checked_sub(1),
                    abi::RCOL_GET_LESS_EQUAL => hi.checked_sub(1),
                    abi::RCOL_GET_EQUAL => (lo < hi).then_some(lo),
                    abi::RCOL_GET_GREATER_EQUAL => (lo < count).then_some(lo),
                    _ => (hi < count).then_some(hi),
                }
            }
        };
        let (cell, record, has_key) = view.at(position.ok_or(abi::RCOL_RC_NOT_FOUND)?)?;
        let n = copy(out, record);
        if has_key {
            fetch_key(cell, OUT);
        }
        Ok(answer(u32::from(has_key), &out[..n], has_key))
    }

    /// Deletes the record named in `data`; `rc_with_key`: answer rc 1 if
    /// it had a key (TruncateAtName), else 0 (Delete).
    fn delete<'r>(&mut self, data: &[u8], rc_with_key: bool, out: &'r mut [u8; MAX_RECORD]) -> Answer<'r> {
        let view = self.view()?;
        let (lo, hi) = view.search(records::name_of(data).ok_or(abi::RCOL_RC_FORMAT)?)?;
        if lo == hi {
            return Err(abi::RCOL_RC_NOT_FOUND);
        }
        let (cell, record, had_key) = view.at(lo)?;
        let n = copy(out, record);
        if had_key {
            take_key(cell, OUT);
        }
        self.view()?.remove(lo)?;
        self.trim()?;
        Ok(answer(u32::from(had_key && rc_with_key), &out[..n], had_key))
    }

    fn truncate<'r>(&mut self, order: u32, data: &[u8], out: &'r mut [u8; MAX_RECORD]) -> Answer<'r> {
        if !self.entry_sequence {
            return match order {
                abi::RCOL_TRUNCATE_AT => self.delete(data, true, out),
                _ => Err(abi::RC_INVALID),
            };
        }
        let name = records::name_of(data).ok_or(abi::RCOL_RC_FORMAT)?;
        let from = match (order, name.len()) {
            (abi::RCOL_TRUNCATE_AFTER, 0) => 0,
            (_, 4) => {
                let (lo, hi) = self.view()?.search(name)?;
                if lo == hi {
                    return Err(abi::RCOL_RC_NOT_FOUND);
                }
                if order == abi::RCOL_TRUNCATE_AT { lo } else { hi }
            }
            _ => return Err(abi::RCOL_RC_BAD_NAME),
        };
        self.remove_from(from)?;
        Ok(Reply::code(0))
    }

    /// Removes every record from `position` on, and their keys.
    fn remove_from(&mut self, position: usize) -> Result<(), u32> {
        let count = self.view()?.count()?;
        for p in (position..count).rev() {
            let (_, _, had_key) = self.view()?.at(p)?;
            let cell = self.view()?.remove(p)?;
            if had_key {
                take_key(cell, Key::NULL);
            }
        }
        self.trim()
    }

    /// Every record goes, and the pages and nodes that held them.
    fn empty(&mut self) -> Result<(), u32> {
        sell_key_tree();
        self.view()?.clear_records()?;
        self.trim()
    }

    /// Sells cell pages from the last while they hold no record.
    fn trim(&mut self) -> Result<(), u32> {
        loop {
            let mut view = self.view()?;
            let pages = view.pages()?;
            if pages == 0 || !view.page_is_free(pages)? {
                return Ok(());
            }
            view.set_pages(pages - 1)?;
            sell_page(pages);
        }
    }
}

/// Leaves in T1 the first front end in STATE's chain whose rights are
/// `rights`, if there is one.
fn find_front_end(rights: u8) -> bool {
    Node(STATE).fetch(S_FRONTS, T1);
    for _ in 0..MAX_FRONTS {
        if Node(T1).fetch(object::TAG_SLOT, T2) != 0 {
            return false;
        }
        if object::data_value(T2) == object::tag(KIND, rights) {
            Node(T1).make_segment(0, OUT);
            return true;
        }
        Node(T1).fetch(F_NEXT, T1);
    }
    false
}

/// The key tree's slot of `cell` within its leaf.
fn leaf_slot(cell: usize) -> u32 {
    (cell % 16) as u32
}

/// Leaves in T1 the leaf of the key tree that holds `cell`'s key; if
/// `buy`, buys the nodes missing on the way. Whether it is there.
fn key_leaf(cell: usize, buy: bool) -> Result<bool, u32> {
    let path = [(STATE, S_KEYS, T1), (T1, (cell / 256) as u32, T2), (T2, (cell / 16 % 16) as u32, T1)];
    for (parent, slot, to) in path {
        Node(parent).fetch(slot, to);
        if present(to) {
            continue;
        }
        if !buy {
            return Ok(false);
        }
        if bank().create_node(to) != 0 {
            return Err(abi::RCOL_RC_NO_NODES);
        }
        Node(parent).swap(slot, to, Key::NULL);
    }
    Ok(true)
}

/// `cell`'s key into `to`.
fn fetch_key(cell: usize, to: Key) {
    if let Ok(true) = key_leaf(cell, false) {
        Node(T1).fetch(leaf_slot(cell), to);
    }
}

/// `cell`'s key into `to`, DK(0) in its place.
fn take_key(cell: usize, to: Key) -> u32 {
    match key_leaf(cell, false) {
        Ok(true) => Node(T1).swap(leaf_slot(cell), Key::NULL, to),
        _ => 0,
    }
}

/// Buys cell page `page` of the data segment (and its lss-3 node).
fn buy_page(page: usize) -> Result<(), u32> {
    Node(STATE).fetch(S_DATA, T1);
    let slot = (page / 16) as u32;
    Node(T1).fetch(slot, T2);
    if !present(T2) {
        if bank().create_node(T2) != 0 {
            return Err(abi::RCOL_RC_NO_NODES);
        }
        Node(T2).make_node(3, T2);
        Node(T1).swap(slot, T2, Key::NULL);
    }
    if bank().create_page(T3) != 0 {
        return Err(abi::RCOL_RC_NO_PAGES);
    }
    Node(T2).swap((page % 16) as u32, T3, Key::NULL);
    Ok(())
}

/// Sells cell page `page`, and its lss-3 node if it was the node's first.
fn sell_page(page: usize) {
    Node(STATE).fetch(S_DATA, T1);
    Node(T1).fetch((page / 16) as u32, T2);
    Node(T2).swap((page % 16) as u32, Key::NULL, T3);
    bank().destroy_page(T3);
    if page.is_multiple_of(16) {
        Node(T1).swap((page / 16) as u32, Key::NULL, T2);
        sell_node(T2);
    }
}

/// Sells the node in `k` (the bank takes back only keys of databyte 0).
fn sell_node(k: Key) {
    Node(k).make_node(0, k);
    bank().destroy_node(k);
}

/// Sells every node of the key tree (and so drops the keys in it).
fn sell_key_tree() {
    Node(STATE).swap(S_KEYS, Key::NULL, T1);
    sell_tree(false);
}

/// Sells the tree whose root node is in T1: its children, their children
/// (pages if `pages`, else nodes), and the root; uses T2 and T3.
fn sell_tree(pages: bool) {
    if !present(T1) {
        return;
    }
    for slot in 0..16 {
        Node(T1).fetch(slot, T2);
        if !present(T2) {
            continue;
        }
        for leaf in 0..16 {
            Node(T2).fetch(leaf, T3);
            if present(T3) {
                if pages {
                    bank().destroy_page(T3);
                } else {
                    sell_node(T3);
                }
            }
        }
        sell_node(T2);
    }
    sell_node(T1);
}

/// Sells everything STATE's collection holds and the state node itself:
/// the key tree, the data segment's pages and nodes, every front end.
fn destroy_all() {
    sell_key_tree();
    Node(STATE).fetch(S_DATA, T1);
    sell_tree(true);
    Node(STATE).fetch(S_FRONTS, T1);
    for _ in 0..MAX_FRONTS {
        if !present(T1) {
            break;
        }
        Node(T1).fetch(F_NEXT, T2);
        sell_node(T1);
        Node(T2).make_node(0, T1);
    }
    sell_node(STATE);
}
