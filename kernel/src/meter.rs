//! Meters: CPU time, counted in emulated instructions.
//!
//! A meter is a node seen through a meter key: slot 1 holds the superior
//! meter's key, slot 2 the meter keeper, slot 3 the CPU counter, DK(n)
//! instructions left (all ones: unlimited in practice). A domain's meter
//! key (root slot 1) must lead, through at most [`MAX_DEPTH`] superiors, to
//! the **prime meter**; a domain runs only while every meter on its chain
//! has time left, and each instruction it runs is charged to all of them.
//!
//! Counters are cached in RAM while in use (their nodes are involved, like a
//! domain's) and written back at checkpoints and whenever their node is
//! touched through a node key.

use rustc_hash::FxHashMap;

use crate::key::{Cda, Key, KeyType};
use crate::object::{self, node};
use crate::store::{Store, StoreError};

/// Most meters between a domain and the prime meter, the prime included.
pub const MAX_DEPTH: usize = 20;
/// Meter slot: superior meter.
pub const SLOT_SUPERIOR: usize = 1;
/// Meter slot: meter keeper.
pub const SLOT_KEEPER: usize = 2;
/// Meter slot: CPU counter.
pub const SLOT_CPU: usize = 3;

#[derive(Clone, Copy, Debug)]
struct CachedMeter {
    remaining: u64,
    dirty: bool,
}

/// A domain's meter chain, innermost first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// Meter nodes from the domain's own meter up to the prime meter.
    pub meters: Vec<Cda>,
}

/// Why a domain cannot run now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// The chain does not reach the prime meter within the depth limit.
    NoPrimeMeter,
    /// This meter on the chain has no time left.
    Exhausted(Cda),
}

/// Cached meter counters.
#[derive(Default)]
pub struct MeterCache {
    counters: FxHashMap<Cda, CachedMeter>,
}

impl MeterCache {
    /// The chain above `meter_key`, if it is a current meter key that leads
    /// to `prime`.
    pub fn chain(store: &Store, meter_key: Key, prime: Cda) -> Result<Chain, Stopped> {
        let mut meters = Vec::new();
        let mut key = object::validate(store, meter_key);
        while meters.len() < MAX_DEPTH {
            if key.kind() != KeyType::Meter {
                return Err(Stopped::NoPrimeMeter);
            }
            let cda = key.cda();
            meters.push(cda);
            if cda == prime {
                return Ok(Chain { meters });
            }
            key = object::validate(store, node::slot(store, cda, SLOT_SUPERIOR));
        }
        Err(Stopped::NoPrimeMeter)
    }

    fn counter(&mut self, store: &Store, meter: Cda) -> &mut CachedMeter {
        self.counters
            .entry(meter)
            .or_insert_with(|| CachedMeter { remaining: cpu_counter(store, meter), dirty: false })
    }

    /// Instructions the chain allows now: the least of its counters.
    pub fn budget(&mut self, store: &Store, chain: &Chain) -> Result<u64, Stopped> {
        let mut budget = u64::MAX;
        for &m in &chain.meters {
            let left = self.counter(store, m).remaining;
            if left == 0 {
                return Err(Stopped::Exhausted(m));
            }
            budget = budget.min(left);
        }
        Ok(budget)
    }

    /// Charges `instructions` to every meter of the chain.
    pub fn charge(&mut self, store: &Store, chain: &Chain, instructions: u64) {
        if instructions == 0 {
            return;
        }
        for &m in &chain.meters {
            let c = self.counter(store, m);
            c.remaining = c.remaining.saturating_sub(instructions);
            c.dirty = true;
        }
    }

    /// Meters cached.
    pub fn len(&self) -> usize {
        self.counters.len()
    }

    /// Whether no meter is cached.
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// Whether `node` is a cached meter.
    pub fn is_cached(&self, node: Cda) -> bool {
        self.counters.contains_key(&node)
    }

    /// Writes `node`'s counter back and drops it from the cache.
    pub fn uninvolve(&mut self, store: &mut Store, node: Cda) -> Result<bool, StoreError> {
        match self.counters.remove(&node) {
            Some(c) => {
                write_counter(store, node, c)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes every changed counter back (at a checkpoint), keeping them cached.
    pub fn write_back_all(&mut self, store: &mut Store) -> Result<(), StoreError> {
        for (&node, c) in self.counters.iter_mut() {
            write_counter(store, node, *c)?;
            c.dirty = false;
        }
        Ok(())
    }
}

fn write_counter(store: &mut Store, node: Cda, c: CachedMeter) -> Result<(), StoreError> {
    if c.dirty { node::set_slot(store, node, SLOT_CPU, Key::data(c.remaining)) } else { Ok(()) }
}

/// The CPU counter as stored in the meter node (data keys only; anything
/// else counts as no time left).
pub fn cpu_counter(store: &Store, meter: Cda) -> u64 {
    let key = node::slot(store, meter, SLOT_CPU);
    if key.kind() == KeyType::Data { key.data_value() } else { 0 }
}
