//! Wait objects and the wait multiplexer (KeyKOS `Dom/include/wait.h`,
//! `Dom/fundamental/wait.ck`, `mbwait2c.ck`): timers of their own for
//! every program, over one kernel BWAIT. Its reference is design.md §24
//! ("Wait objects").
//!
//! **The factory** (WaitF) is a start key to this server with databyte
//! 0xFF: order 0, keys (psb, meter, sb) → rc 0 + key 0 a new wait object,
//! a front end (`system::object`) bought from psb; rc 1 psb is not an
//! official bank, 2 it has no room; KT 0x325.
//!
//! **A wait object**'s front end holds 0 DK(its wake-up time, Unix ns;
//! u64::MAX: none), 1 DK(its serial number), 2 its bank.
//!
//! | order | string in | reply |
//! |---|---|---|
//! | 0 Wait | | 0 at the wake-up time (at once if it passed); 1 another caller waits on it; 2 the multiplexer is full |
//! | 1 SetTOD | u64 Unix ns | 0 |
//! | 2 SetInterval | u64 µs from now | 0 |
//! | 3 / 4 | as 1 / 2, then Wait | as 0 |
//! | 5 ShowTime | | 0 + the wake-up time "YYYY-MM-DDTHH:MM:SS.mmmZ"; 4 none set |
//! | 7 ShowTOD | | 0 + u64 Unix ns now |
//! | KT | | 0x25 |
//! | KT+4 | | 0; its waiter gets KT+1 and its node goes back to its bank |
//!
//! KT+3 answers a string that is not a u64. **The multiplexer:** a
//! waiting caller's resume key is parked in a node of the server's (the
//! big bang's parking tree, k9: 16 nodes of 8 places, each a resume key
//! and a node key to the wait object), and its wake-up time and object's
//! serial in the server's memory; BWAIT (k7) is set to the earliest. The
//! **ticker** (`waittick.rs`) waits on that BWAIT and calls this server's
//! tick facet (databyte 0xFE); each tick answers every waiter whose time
//! has come and sets BWAIT to the next. A restart ends the ticker's wait
//! early, so times are looked at again with the new calendar offset: a
//! wake-up time is wall-clock time, and the downtime counts. A waiter
//! whose wait object was destroyed with its bank gets KT+1 when the
//! multiplexer needs its place.
//!
//! Keys: the server registers of `system::object::reg`; k7 the BWAIT,
//! k8 the system timer, k9 the parking tree; the journal page read-only at
//! JOURNAL (`system::time`). *Divergences:* times are Unix ns (KeyKOS: TOD
//! units since 1900); ShowTime's text is ISO 8601.

#![no_std]
#![no_main]

use gnosis::keys::{Bank, Bwait, DataKeyCreator, Discrim, Node, Returner, Timer};
use gnosis::server::{Reply, Request, serve};
use gnosis::{Key, Msg, abi};
use system::object::{self, reg};
use system::time;

const BWAIT: Bwait = Bwait(Key::new(7));
const TIMER: Timer = Timer(Key::new(8));
const PARKING: Node = Node(Key::new(9));
const T1: Key = Key::new(10);
const T2: Key = Key::new(11);
const ARG: Key = reg::ARG[0];
const OUT: Key = reg::FRONT;

/// Front-end kind of a wait object.
const KIND: u8 = b'W';
/// The factory's facet.
const CREATOR: u8 = 0xFF;
/// The ticker's facet.
const TICK: u8 = 0xFE;
/// The wait object's facet.
const OBJECT: u8 = 0;
/// Front-end slots.
const F_WAKE: u32 = 0;
const F_SERIAL: u32 = 1;
const F_BANK: u32 = 2;
/// No wake-up time.
const NEVER: u64 = u64::MAX;
/// Places for waiters.
const PLACES: usize = abi::WAIT_MAX_WAITERS as usize;
/// Places per parking node (a resume key and a node key each).
const PER_NODE: usize = 8;

/// A place in the multiplexer: whose waiter is parked there, until when.
#[derive(Clone, Copy)]
struct Place {
    /// The wait object's serial (0: free).
    serial: u64,
    /// Its wake-up time, Unix ns.
    wake: u64,
}

/// The multiplexer's memory: its places and the next serial number.
struct Multiplexer {
    places: [Place; PLACES],
    next_serial: u64,
}

fn main() {
    let mut mux = Multiplexer { places: [Place { serial: 0, wake: NEVER }; PLACES], next_serial: 1 };
    let mut request = [0u8; 8];
    let mut out = [0u8; 24];
    serve(Returner(reg::RETURNER), &mut request, &mut out, |req, out| {
        let answer = match req.databyte {
            CREATOR => mux.create(req),
            TICK => {
                mux.tick();
                Ok(Reply::code(0))
            }
            _ => mux.object(req, out),
        };
        answer.unwrap_or_else(Reply::code)
    })
}

gnosis::entry!(main);

type Answer<'r> = Result<Reply<'r>, u32>;

fn u64_of(data: &[u8]) -> Result<u64, u32> {
    data.try_into().map(u64::from_le_bytes).map_err(|_| abi::WAIT_RC_FORMAT)
}

fn dkc() -> DataKeyCreator {
    DataKeyCreator(reg::DKC)
}

/// The front end's data slot `slot`.
fn front_value(slot: u32) -> u64 {
    Node(reg::FRONT).fetch(slot, T1);
    object::data_value(T1)
}

fn set_front_value(slot: u32, value: u64) {
    dkc().make(value, T1);
    Node(reg::FRONT).swap(slot, T1, Key::NULL);
}

/// Leaves the parking node of `place` in T1; its slots for it.
fn parking(place: usize) -> (u32, u32) {
    PARKING.fetch((place / PER_NODE) as u32, T1);
    let slot = (2 * (place % PER_NODE)) as u32;
    (slot, slot + 1)
}

/// Answers the waiter parked at `place` with `rc` and frees the place.
fn release(places: &mut [Place; PLACES], place: usize, rc: u32) {
    let (resume, object) = parking(place);
    Node(T1).swap(object, Key::NULL, Key::NULL);
    Node(T1).swap(resume, Key::NULL, T2);
    // The returner passes it on only to a resume key of a waiting domain.
    reg::RETURNER.fork(Msg::new(rc).keys(&[Key::NULL, Key::NULL, Key::NULL, T2]));
    places[place] = Place { serial: 0, wake: NEVER };
}

impl Multiplexer {
    /// WaitF: a new wait object bought from psb (key 0).
    fn create<'r>(&mut self, req: &Request<'_>) -> Answer<'r> {
        match req.order {
            abi::KT => return Ok(Reply::code(abi::AKT_WAITF)),
            abi::WAITF_CREATE => {}
            _ => return Err(abi::RC_INVALID),
        }
        if !object::official_bank(ARG) {
            return Err(abi::RCF_RC_NOT_OFFICIAL_BANK);
        }
        object::new_front_end(Bank(ARG), KIND, OBJECT, T1, T2, OUT).map_err(|_| abi::RCF_RC_NO_SPACE)?;
        let front = Node(T1);
        for (slot, value) in [(F_WAKE, NEVER), (F_SERIAL, self.next_serial)] {
            dkc().make(value, T2);
            front.swap(slot, T2, Key::NULL);
        }
        front.swap(F_BANK, ARG, Key::NULL);
        self.next_serial += 1;
        Ok(Reply { keys: [OUT, Key::NULL, Key::NULL], ..Reply::code(0) })
    }

    /// A call through a wait object's front end.
    fn object<'r>(&mut self, req: &Request<'_>, out: &'r mut [u8; 24]) -> Answer<'r> {
        if req.databyte != OBJECT || object::front_end_tag(T1) != Some(object::tag(KIND, OBJECT)) {
            return Err(abi::RC_INVALID);
        }
        let serial = front_value(F_SERIAL);
        let now = time::now(TIMER);
        match req.order {
            abi::KT => Ok(Reply::code(abi::AKT_WAIT)),
            abi::WAIT_WAIT => self.wait(serial, front_value(F_WAKE), now),
            abi::WAIT_SET_TOD | abi::WAIT_SET_TOD_AND_WAIT => {
                let wake = u64_of(req.data)?;
                self.set(serial, wake, req.order == abi::WAIT_SET_TOD_AND_WAIT, now)
            }
            abi::WAIT_SET_INTERVAL | abi::WAIT_SET_INTERVAL_AND_WAIT => {
                let wake = now.saturating_add(u64_of(req.data)?.saturating_mul(1000)).min(NEVER - 1);
                self.set(serial, wake, req.order == abi::WAIT_SET_INTERVAL_AND_WAIT, now)
            }
            abi::WAIT_SHOW_TIME => match front_value(F_WAKE) {
                NEVER => Err(abi::WAIT_RC_NOT_SET),
                wake => {
                    time::iso8601(wake, out);
                    Ok(Reply::with_data(0, &out[..]))
                }
            },
            abi::WAIT_SHOW_TOD => {
                out[..8].copy_from_slice(&now.to_le_bytes());
                Ok(Reply::with_data(0, &out[..8]))
            }
            abi::WAIT_DESTROY => {
                if let Some(place) = self.place_of(serial) {
                    release(&mut self.places, place, abi::RC_DATA);
                    self.arm();
                }
                Node(reg::FRONT).fetch(F_BANK, T2);
                Bank(T2).destroy_node(reg::FRONT);
                Ok(Reply::code(0))
            }
            _ => Err(abi::RC_INVALID),
        }
    }

    fn place_of(&self, serial: u64) -> Option<usize> {
        self.places.iter().position(|p| p.serial == serial)
    }

    /// Sets the wake-up time; then, if `and_wait`, waits.
    fn set<'r>(&mut self, serial: u64, wake: u64, and_wait: bool, now: u64) -> Answer<'r> {
        set_front_value(F_WAKE, wake);
        if let Some(place) = self.place_of(serial) {
            self.places[place].wake = wake;
            self.arm();
        }
        if and_wait { self.wait(serial, wake, now) } else { Ok(Reply::code(0)) }
    }

    /// Parks the caller until `wake`, unless that has passed.
    fn wait<'r>(&mut self, serial: u64, wake: u64, now: u64) -> Answer<'r> {
        if self.place_of(serial).is_some() {
            return Err(abi::WAIT_RC_BUSY);
        }
        if wake <= now {
            return Ok(Reply::code(0));
        }
        let place = match self.free_place() {
            Some(place) => place,
            None => return Err(abi::WAIT_RC_FULL),
        };
        let (resume, object) = parking(place);
        // The caller's resume key goes into the place and DK(0) into k15,
        // so the reply this request gets goes nowhere.
        Node(T1).swap(resume, reg::CALLER, reg::CALLER);
        Node(T1).swap(object, reg::FRONT, Key::NULL);
        self.places[place] = Place { serial, wake };
        self.arm();
        Ok(Reply::code(0))
    }

    /// A free place; if there is none, first frees the places of wait
    /// objects that were destroyed with their banks.
    fn free_place(&mut self) -> Option<usize> {
        if let Some(free) = self.place_of(0) {
            return Some(free);
        }
        for place in 0..PLACES {
            let (_, object) = parking(place);
            Node(T1).fetch(object, T2);
            if Discrim(reg::DISCRIM).classify(T2) == abi::DISCRIM_CLASS_DATA {
                release(&mut self.places, place, abi::RC_DATA);
            }
        }
        self.place_of(0)
    }

    /// Answers every waiter whose time has come; sets BWAIT to the next.
    fn tick(&mut self) {
        let now = time::now(TIMER);
        for place in 0..PLACES {
            let p = self.places[place];
            if p.serial != 0 && p.wake <= now {
                release(&mut self.places, place, 0);
            }
        }
        self.arm();
    }

    /// Sets BWAIT to the earliest wake-up time of a waiter.
    fn arm(&self) {
        let next = self.places.iter().filter(|p| p.serial != 0).map(|p| p.wake).min().unwrap_or(NEVER);
        BWAIT.set(if next == NEVER { NEVER } else { time::system_of(next) });
    }
}
