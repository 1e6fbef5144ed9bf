//! The data segment of a record collection (design.md §24, "Record
//! collections"): its layout, and the operations on it that need no key.
//!
//! The segment is page 0, the **header**, then up to [`MAX_PAGES`] **cell
//! pages** of [`CELLS_PER_PAGE`] cells, one record each. The header holds
//! the number of records, the number of cell pages bought, the user data,
//! a bitmap of the cells in use and the **index**: the records' cell
//! numbers sorted by name (bytewise, a shorter name before the longer one
//! it begins, as KeyKOS's TDO compares). A record's key, if it has one, is
//! kept by the server in a node tree at the record's cell number.
//!
//! The server sees the segment through its window; a zeroed header is an
//! empty collection. Every read is checked: if the bytes are not a
//! collection (which only happens when the collection's bank was destroyed
//! under the server, see `bin/rcol.rs`) an operation answers
//! [`Damaged`] instead of panicking, and every loop is bounded by
//! [`MAX_RECORDS`].

use core::cmp::Ordering;
use gnosis::abi;

/// Bytes in a page.
pub const PAGE: usize = 4096;
/// The longest record.
pub const MAX_RECORD: usize = abi::RCOL_MAX_RECORD as usize;
/// The most user data.
pub const MAX_USER_DATA: usize = abi::RCOL_MAX_USER_DATA as usize;
/// The most records in a collection.
pub const MAX_RECORDS: usize = abi::RCOL_MAX_RECORDS as usize;
/// A cell: u16 record length (0: free), u8 1 if the record has a key, a
/// pad byte, the record.
const CELL: usize = 4 + MAX_RECORD;
/// Cells in a cell page.
pub const CELLS_PER_PAGE: usize = PAGE / CELL;
/// The most cell pages.
pub const MAX_PAGES: usize = MAX_RECORDS / CELLS_PER_PAGE;

// Header fields.
const COUNT: usize = 0;
const PAGES: usize = 4;
const USER_LEN: usize = 8;
const USER: usize = 16;
const BITMAP: usize = USER + MAX_USER_DATA;
const INDEX: usize = BITMAP + MAX_RECORDS / 8 + 2;
const _: () = assert!(INDEX + 2 * MAX_RECORDS <= PAGE && MAX_RECORDS.is_multiple_of(CELLS_PER_PAGE));

/// The segment's bytes are not a record collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Damaged;

type Result<T> = core::result::Result<T, Damaged>;

/// The segment page (counting the header as 0) that holds `cell`.
pub const fn page_of(cell: usize) -> usize {
    1 + cell / CELLS_PER_PAGE
}

/// The name of `record` (its first byte is the name's length), or `None`
/// if the length runs past the record's end.
pub fn name_of(record: &[u8]) -> Option<&[u8]> {
    match record.split_first() {
        None => Some(&[]),
        Some((&len, rest)) => rest.get(..usize::from(len)),
    }
}

/// The number of cell pages a header says were bought, if sane.
pub fn pages_in(header: &[u8]) -> Result<usize> {
    let pages = read_u32(header, PAGES)? as usize;
    if pages > MAX_PAGES { Err(Damaged) } else { Ok(pages) }
}

fn read_u32(mem: &[u8], at: usize) -> Result<u32> {
    let b = mem.get(at..at + 4).ok_or(Damaged)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn write_u32(mem: &mut [u8], at: usize, v: u32) -> Result<()> {
    mem.get_mut(at..at + 4).ok_or(Damaged)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn read_u16(mem: &[u8], at: usize) -> Result<usize> {
    let b = mem.get(at..at + 2).ok_or(Damaged)?;
    Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
}

fn write_u16(mem: &mut [u8], at: usize, v: usize) -> Result<()> {
    mem.get_mut(at..at + 2).ok_or(Damaged)?.copy_from_slice(&(v as u16).to_le_bytes());
    Ok(())
}

/// A collection's segment as the server sees it: the header and the cell
/// pages bought, `(1 + pages) * PAGE` bytes.
pub struct Collection<'a> {
    mem: &'a mut [u8],
}

impl<'a> Collection<'a> {
    /// The collection in `mem`, which must be exactly the header and the
    /// cell pages the header says were bought.
    pub fn open(mem: &'a mut [u8]) -> Result<Collection<'a>> {
        let pages = pages_in(mem)?;
        let c = Collection { mem };
        if c.mem.len() != (1 + pages) * PAGE || c.count()? > MAX_RECORDS || c.user_len()? > MAX_USER_DATA {
            return Err(Damaged);
        }
        Ok(c)
    }

    /// Records held.
    pub fn count(&self) -> Result<usize> {
        let n = read_u32(self.mem, COUNT)? as usize;
        if n > MAX_RECORDS { Err(Damaged) } else { Ok(n) }
    }

    /// Cell pages bought.
    pub fn pages(&self) -> Result<usize> {
        pages_in(self.mem)
    }

    /// Records the cell pages bought: the next [`Collection::open`] must
    /// see that many.
    pub fn set_pages(&mut self, pages: usize) -> Result<()> {
        write_u32(self.mem, PAGES, pages.min(MAX_PAGES) as u32)
    }

    fn user_len(&self) -> Result<usize> {
        Ok(read_u32(self.mem, USER_LEN)? as usize)
    }

    /// The user data.
    pub fn user_data(&self) -> Result<&[u8]> {
        let len = self.user_len()?;
        self.mem.get(USER..USER + len.min(MAX_USER_DATA)).ok_or(Damaged)
    }

    /// Replaces the user data (at most [`MAX_USER_DATA`] bytes).
    pub fn set_user_data(&mut self, data: &[u8]) -> Result<()> {
        let data = data.get(..data.len().min(MAX_USER_DATA)).ok_or(Damaged)?;
        self.mem.get_mut(USER..USER + data.len()).ok_or(Damaged)?.copy_from_slice(data);
        write_u32(self.mem, USER_LEN, data.len() as u32)
    }

    /// The cell of the record at `position` in name order.
    pub fn cell_at(&self, position: usize) -> Result<usize> {
        if position >= self.count()? {
            return Err(Damaged);
        }
        let cell = read_u16(self.mem, INDEX + 2 * position)?;
        if page_of(cell) > self.pages()? || !self.in_use(cell)? { Err(Damaged) } else { Ok(cell) }
    }

    fn cell(&self, cell: usize) -> Result<&[u8]> {
        let at = page_of(cell) * PAGE + cell % CELLS_PER_PAGE * CELL;
        self.mem.get(at..at + CELL).ok_or(Damaged)
    }

    fn cell_mut(&mut self, cell: usize) -> Result<&mut [u8]> {
        let at = page_of(cell) * PAGE + cell % CELLS_PER_PAGE * CELL;
        self.mem.get_mut(at..at + CELL).ok_or(Damaged)
    }

    /// The record in `cell` and whether it has a key.
    pub fn record(&self, cell: usize) -> Result<(&[u8], bool)> {
        let c = self.cell(cell)?;
        let len = read_u16(c, 0)?;
        let record = c.get(4..4 + len).ok_or(Damaged)?;
        name_of(record).ok_or(Damaged)?;
        Ok((record, c[2] != 0))
    }

    /// The record at `position` in name order, its cell and whether it has a key.
    pub fn at(&self, position: usize) -> Result<(usize, &[u8], bool)> {
        let cell = self.cell_at(position)?;
        let (record, key) = self.record(cell)?;
        Ok((cell, record, key))
    }

    fn name_at(&self, position: usize) -> Result<&[u8]> {
        name_of(self.at(position)?.1).ok_or(Damaged)
    }

    /// Where `name` falls in name order: (the first position whose name is
    /// not less, the first whose name is greater). They differ exactly
    /// when a record has that name, at the first.
    pub fn search(&self, name: &[u8]) -> Result<(usize, usize)> {
        let count = self.count()?;
        let bound = |stop: &dyn Fn(Ordering) -> bool| -> Result<usize> {
            let (mut lo, mut hi) = (0, count);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if stop(self.name_at(mid)?.cmp(name)) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            Ok(lo)
        };
        Ok((bound(&|o| o != Ordering::Less)?, bound(&|o| o == Ordering::Greater)?))
    }

    fn in_use(&self, cell: usize) -> Result<bool> {
        let byte = *self.mem.get(BITMAP + cell / 8).ok_or(Damaged)?;
        Ok(byte & (1 << (cell % 8)) != 0)
    }

    fn mark(&mut self, cell: usize, used: bool) -> Result<()> {
        let byte = self.mem.get_mut(BITMAP + cell / 8).ok_or(Damaged)?;
        if used {
            *byte |= 1 << (cell % 8);
        } else {
            *byte &= !(1 << (cell % 8));
        }
        Ok(())
    }

    /// The lowest free cell (`None`: the collection is full).
    pub fn free_cell(&self) -> Result<Option<usize>> {
        for cell in 0..MAX_RECORDS {
            if !self.in_use(cell)? {
                return Ok(Some(cell));
            }
        }
        Ok(None)
    }

    /// Whether no cell of cell page `page` (1..) holds a record.
    pub fn page_is_free(&self, page: usize) -> Result<bool> {
        let first = (page - 1) * CELLS_PER_PAGE;
        for cell in first..first + CELLS_PER_PAGE {
            if self.in_use(cell)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes `record` into `cell` (whose page was bought).
    pub fn overwrite(&mut self, cell: usize, record: &[u8], key: bool) -> Result<()> {
        let c = self.cell_mut(cell)?;
        write_u16(c, 0, record.len())?;
        c[2] = u8::from(key);
        c.get_mut(4..4 + record.len()).ok_or(Damaged)?.copy_from_slice(record);
        Ok(())
    }

    /// Puts `record` in the free `cell` (whose page was bought) at
    /// `position` in name order.
    pub fn insert(&mut self, position: usize, cell: usize, record: &[u8], key: bool) -> Result<()> {
        let count = self.count()?;
        if count >= MAX_RECORDS || position > count || self.in_use(cell)? {
            return Err(Damaged);
        }
        self.overwrite(cell, record, key)?;
        self.mark(cell, true)?;
        let index = self.mem.get_mut(INDEX..INDEX + 2 * (count + 1)).ok_or(Damaged)?;
        index.copy_within(2 * position..2 * count, 2 * position + 2);
        write_u16(index, 2 * position, cell)?;
        write_u32(self.mem, COUNT, count as u32 + 1)
    }

    /// Takes the record at `position` out; returns its cell.
    pub fn remove(&mut self, position: usize) -> Result<usize> {
        let cell = self.cell_at(position)?;
        let count = self.count()?;
        let index = self.mem.get_mut(INDEX..INDEX + 2 * count).ok_or(Damaged)?;
        index.copy_within(2 * position + 2..2 * count, 2 * position);
        self.mark(cell, false)?;
        write_u16(self.cell_mut(cell)?, 0, 0)?;
        write_u32(self.mem, COUNT, count as u32 - 1)?;
        Ok(cell)
    }
}

impl From<Damaged> for u32 {
    /// A damaged segment answers as a dead key would: its collection's
    /// bank was destroyed while the server worked on it.
    fn from(_: Damaged) -> u32 {
        abi::RC_DATA
    }
}

impl Collection<'_> {
    /// Forgets every record (the user data stays): every cell is free.
    pub fn clear_records(&mut self) -> Result<()> {
        self.mem.get_mut(BITMAP..INDEX).ok_or(Damaged)?.fill(0);
        write_u32(self.mem, COUNT, 0)
    }
}
