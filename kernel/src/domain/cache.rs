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

/// Domain info blocks by root CDA.
#[derive(Default)]
pub struct DomainCache {
    blocks: FxHashMap<Cda, Box<Dib>>,
    involved: FxHashMap<Cda, Cda>,
}

impl DomainCache {
    /// Domains cached.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Whether no domain is cached.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Whether the domain rooted at `root` is cached.
    pub fn contains(&self, root: Cda) -> bool {
        self.blocks.contains_key(&root)
    }

    /// The cached block of `root`.
    pub fn get(&self, root: Cda) -> Option<&Dib> {
        self.blocks.get(&root).map(|b| &**b)
    }

    /// The cached block of `root`, mutably.
    pub fn get_mut(&mut self, root: Cda) -> Option<&mut Dib> {
        self.blocks.get_mut(&root).map(|b| &mut **b)
    }

    /// Takes a block out (to run it while the kernel is borrowed elsewhere).
    pub fn take(&mut self, root: Cda) -> Option<Box<Dib>> {
        self.blocks.remove(&root)
    }

    /// Puts a taken block back.
    pub fn put(&mut self, dib: Box<Dib>) {
        self.blocks.insert(dib.nodes.root, dib);
    }

    /// Caches a freshly loaded block, evicting others if the cache is full.
    pub fn insert(&mut self, store: &mut Store, dib: Box<Dib>) -> Result<(), StoreError> {
        while self.blocks.len() >= CACHE_CAPACITY {
            let victim = *self.blocks.keys().next().expect("CACHE001 full cache is empty");
            self.evict(store, victim)?;
        }
        let n = dib.nodes;
        for node in [n.root, n.keys, n.registers] {
            self.involved.insert(node, n.root);
        }
        self.blocks.insert(n.root, dib);
        Ok(())
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
        let Some(dib) = self.blocks.remove(&root) else { return Ok(()) };
        dib.write_back(store)?;
        self.forget_nodes(dib.nodes);
        Ok(())
    }

    /// Drops a block without writing it back (its domain was destroyed).
    pub fn discard(&mut self, root: Cda) {
        if let Some(dib) = self.blocks.remove(&root) {
            self.forget_nodes(dib.nodes);
        }
    }

    fn forget_nodes(&mut self, n: DomainNodes) {
        for node in [n.root, n.keys, n.registers] {
            self.involved.remove(&node);
        }
    }

    /// Writes every cached block back (at a checkpoint), keeping them cached.
    pub fn write_back_all(&self, store: &mut Store) -> Result<(), StoreError> {
        self.blocks.values().try_for_each(|dib| dib.write_back(store))
    }

    /// Roots of every cached domain.
    pub fn roots(&self) -> Vec<Cda> {
        self.blocks.keys().copied().collect()
    }
}
