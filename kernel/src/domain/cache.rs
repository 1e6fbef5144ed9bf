//! The cache of domain info blocks, and the nodes it involves.
//!
//! A node that a cached domain is made of is **involved**: its slots in the
//! image may be stale. Anything that reads or writes such a node through a
//! node key first asks the cache to write the domain back and drop it
//! (KeyKOS "uninvolve").

use rustc_hash::FxHashMap;

use super::{Dib, DomainNodes};
use crate::key::Cda;
use crate::store::{Store, StoreError};

/// Most domains kept prepared at once.
pub const CACHE_CAPACITY: usize = 512;

/// Domain info blocks by root CDA: a slab of blocks and an index, so a
/// block keeps its slot while cached and can be lent out and returned
/// without rehashing.
#[derive(Default)]
pub struct DomainCache {
    slots: Vec<Option<Box<Dib>>>,
    free: Vec<usize>,
    index: FxHashMap<Cda, usize>,
    involved: FxHashMap<Cda, Cda>,
}

impl DomainCache {
    /// Domains cached.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no domain is cached.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether the domain rooted at `root` is cached.
    pub fn contains(&self, root: Cda) -> bool {
        self.index.contains_key(&root)
    }

    /// The slot of `root`'s block, if cached.
    pub fn slot(&self, root: Cda) -> Option<usize> {
        self.index.get(&root).copied()
    }

    /// The block in `slot` (from [`DomainCache::slot`]; not lent out).
    pub fn at(&mut self, slot: usize) -> &mut Dib {
        self.slots[slot].as_deref_mut().expect("CACHE002 block lent out or gone")
    }

    /// The cached block of `root`.
    pub fn get(&self, root: Cda) -> Option<&Dib> {
        self.slots[*self.index.get(&root)?].as_deref()
    }

    /// The cached block of `root`, mutably.
    pub fn get_mut(&mut self, root: Cda) -> Option<&mut Dib> {
        self.slots[*self.index.get(&root)?].as_deref_mut()
    }

    /// Lends the block in `slot` out (to run it while the kernel is
    /// borrowed elsewhere); it stays cached and must be returned with
    /// [`DomainCache::put`].
    pub fn take(&mut self, slot: usize) -> Box<Dib> {
        self.slots[slot].take().expect("CACHE003 block already lent out")
    }

    /// Returns a lent block to its slot.
    pub fn put(&mut self, slot: usize, dib: Box<Dib>) {
        self.slots[slot] = Some(dib);
    }

    /// Caches a freshly loaded block, evicting others if the cache is full.
    pub fn insert(&mut self, store: &mut Store, dib: Box<Dib>) -> Result<(), StoreError> {
        while self.index.len() >= CACHE_CAPACITY {
            let victim = *self.index.keys().next().expect("CACHE001 full cache is empty");
            self.evict(store, victim)?;
        }
        let n = dib.nodes;
        for node in [n.root, n.keys, n.registers] {
            self.involved.insert(node, n.root);
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(dib);
                slot
            }
            None => {
                self.slots.push(Some(dib));
                self.slots.len() - 1
            }
        };
        self.index.insert(n.root, slot);
        Ok(())
    }

    fn remove(&mut self, root: Cda) -> Option<Box<Dib>> {
        let slot = self.index.remove(&root)?;
        self.free.push(slot);
        let dib = self.slots[slot].take().expect("CACHE004 evicting a lent-out block");
        self.forget_nodes(dib.nodes);
        Some(dib)
    }

    /// Writes back and drops the domain that `node` is part of, if any.
    pub fn uninvolve(&mut self, store: &mut Store, node: Cda) -> Result<(), StoreError> {
        match self.involved.get(&node) {
            Some(&root) => self.evict(store, root),
            None => Ok(()),
        }
    }

    /// Writes back and drops `root`'s block.
    pub fn evict(&mut self, store: &mut Store, root: Cda) -> Result<(), StoreError> {
        match self.remove(root) {
            Some(dib) => dib.write_back(store),
            None => Ok(()),
        }
    }

    /// Drops a block without writing it back (its domain was destroyed).
    pub fn discard(&mut self, root: Cda) {
        self.remove(root);
    }

    fn forget_nodes(&mut self, n: DomainNodes) {
        for node in [n.root, n.keys, n.registers] {
            self.involved.remove(&node);
        }
    }

    /// Writes every cached block back (at a checkpoint), keeping them cached.
    pub fn write_back_all(&self, store: &mut Store) -> Result<(), StoreError> {
        self.slots.iter().flatten().try_for_each(|dib| dib.write_back(store))
    }

    /// Roots of every cached domain.
    pub fn roots(&self) -> Vec<Cda> {
        self.index.keys().copied().collect()
    }
}
