//! A small mutation fuzzer for everything that reads untrusted bytes: the
//! image's label, headers, directories, process lists and journal
//! descriptors, opening and restarting whole images, the ELF loader and
//! the snapshot reader.
//!
//! Each target starts from *valid* inputs (a formatted image, worlds with
//! objects, journal records and an unmigrated checkpoint, the shipped
//! domain programs, a snapshot of a running domain) and mutates them: bit
//! flips, fields overwritten with boundary values (0, 1, 2^31, 2^32 - 1,
//! 2^63, 2^64 - 1 and their neighbours), byte runs, truncation and
//! extension. In most cases it then fixes up the checksums (the label's and
//! headers' CRCs, pot seals, directory and process-list checksums, journal
//! descriptors, the snapshot's object CRCs and manifest checksum), so that
//! the deep validation is reached, not just the checksum.
//!
//! Everything is deterministic: input `i` of a run with seed `s` is drawn
//! from a generator seeded by `(s, i)`, so a finding is reproduced by
//! running that one input again ([`run_one`]). A panic in a target is a
//! finding; the run goes on and reports every one.

pub mod elf;
pub mod image;
pub mod snapshot;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a target is fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `VolumeLabel::decode` and the layout it derives.
    Label,
    /// `CheckpointHeader::decode`, its encoding and its rollback.
    Header,
    /// Directory, process-list and journal-descriptor decoding.
    Directory,
    /// `disk_image::open` and `OpenedImage::load_*` on a whole image.
    Open,
    /// `kernel::restart::load` on a whole image, and now and then a boot.
    Restart,
    /// `kernel::elf::parse`, and now and then `elf::load` into a world.
    Elf,
    /// `Snapshot::read` of a snapshot directory.
    Snapshot,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 7] = [
        Target::Label,
        Target::Header,
        Target::Directory,
        Target::Open,
        Target::Restart,
        Target::Elf,
        Target::Snapshot,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Label => "label",
            Target::Header => "header",
            Target::Directory => "directory",
            Target::Open => "open",
            Target::Restart => "restart",
            Target::Elf => "elf",
            Target::Snapshot => "snapshot",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Inputs of this target in a run of `total` over all targets: the
    /// cheap decoders get most, whole images and directories fewer.
    pub fn share(self, total: u64) -> u64 {
        let per_mille = match self {
            Target::Label => 300,
            Target::Header => 300,
            Target::Directory => 250,
            Target::Elf => 120,
            Target::Open => 15,
            Target::Restart => 10,
            Target::Snapshot => 5,
        };
        (total * per_mille / 1000).max(1)
    }
}

/// The valid inputs mutations start from, built once per run: only what
/// the target needs.
pub struct Bases {
    images: Option<image::Bases>,
    elfs: Vec<Vec<u8>>,
    snapshot: Option<snapshot::Base>,
}

impl Bases {
    /// Builds the bases `target` needs.
    pub fn for_target(target: Target) -> Bases {
        Bases {
            images: (!matches!(target, Target::Elf | Target::Snapshot)).then(image::Bases::build),
            elfs: if target == Target::Elf { elf::bases() } else { Vec::new() },
            snapshot: (target == Target::Snapshot).then(snapshot::Base::build),
        }
    }

    fn images(&self) -> &image::Bases {
        self.images.as_ref().expect("FUZZ001 image bases for an image target")
    }
}

/// One panic a target raised.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The input's index in the run.
    pub input: u64,
    /// The panic message, with where it was raised.
    pub message: String,
}

/// What a run of one target did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The target.
    pub target: Target,
    /// Inputs run.
    pub inputs: u64,
    /// Of those, the ones the target accepted as valid (how often the
    /// mutations got past validation).
    pub accepted: u64,
    /// Panics.
    pub findings: Vec<Finding>,
    /// Time taken, bases excluded.
    pub elapsed: Duration,
}

/// A source of mutations: a seeded generator and the moves drawn from it.
pub struct Mutator {
    rng: ChaCha8Rng,
}

/// Values at the edges of the integer types, and their neighbours.
const BOUNDARIES: [u64; 14] = [
    0,
    1,
    2,
    3,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
    0x1_0000_0000,
    1 << 47,
    1 << 62,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
];

impl Mutator {
    /// The mutator of input `input` of a run seeded with `seed`.
    pub fn new(seed: u64, input: u64) -> Mutator {
        let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ input.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Mutator { rng: ChaCha8Rng::seed_from_u64(mixed) }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.gen_range(0..n)
    }

    /// A value for an integer field: a boundary, near one, or random.
    pub fn value(&mut self) -> u64 {
        match self.below(4) {
            0 | 1 => BOUNDARIES[self.below(BOUNDARIES.len())],
            2 => BOUNDARIES[self.below(BOUNDARIES.len())]
                .wrapping_add(self.rng.gen_range(0..8))
                .wrapping_sub(4),
            _ => self.rng.r#gen(),
        }
    }

    /// Mutates `bytes` in place one to four times. `fields` are offsets of
    /// known integer fields, preferred for overwrites.
    pub fn mutate(&mut self, bytes: &mut [u8], fields: &[usize]) {
        if bytes.is_empty() {
            return;
        }
        for _ in 0..1 + self.below(4) {
            match self.below(5) {
                0 => {
                    let at = self.below(bytes.len());
                    bytes[at] ^= 1 << self.below(8);
                }
                1 | 2 => {
                    let width = [1usize, 2, 4, 8][self.below(4)];
                    let at = match fields.is_empty() || self.chance(0.3) {
                        true => self.below(bytes.len()) & !(width - 1),
                        false => fields[self.below(fields.len())],
                    };
                    let value = self.value().to_le_bytes();
                    let end = (at + width).min(bytes.len());
                    bytes[at.min(end)..end].copy_from_slice(&value[..end - at.min(end)]);
                }
                3 => {
                    let at = self.below(bytes.len());
                    let len = self.below(64).min(bytes.len() - at);
                    let fill = [0u8, 0xFF, self.rng.r#gen()][self.below(3)];
                    bytes[at..at + len].fill(fill);
                }
                _ => {
                    let at = self.below(bytes.len());
                    let len = self.below(16).min(bytes.len() - at);
                    self.rng.fill(&mut bytes[at..at + len]);
                }
            }
        }
    }

    /// Truncates or extends `bytes` (keeping at least `min` bytes), to a
    /// multiple of `unit` bytes.
    pub fn resize(&mut self, bytes: &mut Vec<u8>, unit: usize, min: usize) {
        let units = bytes.len() / unit;
        let new = match self.below(3) {
            0 => self.below(units + 1),
            1 => units.saturating_sub(1 + self.below(3)),
            _ => units + 1 + self.below(3),
        };
        let len = (new * unit).max(min);
        let fill: u8 = if self.chance(0.5) { 0 } else { self.rng.r#gen() };
        bytes.resize(len, fill);
    }
}

thread_local! {
    /// The message of the last panic on this thread while fuzzing.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once, a panic hook that records panics of threads that are
/// fuzzing instead of printing them, and leaves every other panic alone.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let fuzzing = CAUGHT.with(|c| c.borrow().as_deref() == Some(""));
            if fuzzing {
                let place = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
                let text = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                CAUGHT.with(|c| *c.borrow_mut() = Some(format!("{text}{place}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs input `input` of a run of `target` seeded with `seed`; whether the
/// target accepted it, or the panic it raised.
pub fn run_one(target: Target, bases: &Bases, seed: u64, input: u64) -> Result<bool, String> {
    install_hook();
    CAUGHT.with(|c| *c.borrow_mut() = Some(String::new()));
    let mut m = Mutator::new(seed ^ target as u64, input);
    let result = catch_unwind(AssertUnwindSafe(|| match target {
        Target::Label => image::label(&mut m, bases.images()),
        Target::Header => image::header(&mut m, bases.images()),
        Target::Directory => image::directory(&mut m, bases.images()),
        Target::Open => image::open(&mut m, bases.images()),
        Target::Restart => image::restart(&mut m, bases.images()),
        Target::Elf => elf::elf(&mut m, &bases.elfs),
        Target::Snapshot => {
            snapshot::snapshot(&mut m, bases.snapshot.as_ref().expect("FUZZ002 snapshot base"))
        }
    }));
    let caught = CAUGHT.with(|c| c.borrow_mut().take());
    result.map_err(|_| caught.filter(|m| !m.is_empty()).unwrap_or_else(|| "(panic)".into()))
}

/// Runs `inputs` inputs of `target` from `seed`.
pub fn run(target: Target, seed: u64, inputs: u64) -> Outcome {
    run_range(target, seed, 0..inputs)
}

/// Runs inputs `range` of `target` from `seed` (a share of a run split
/// between threads).
pub fn run_range(target: Target, seed: u64, range: std::ops::Range<u64>) -> Outcome {
    let bases = Bases::for_target(target);
    let started = Instant::now();
    let inputs = range.end - range.start;
    let mut outcome = Outcome { target, inputs, accepted: 0, findings: Vec::new(), elapsed: Duration::ZERO };
    for input in range {
        match run_one(target, &bases, seed, input) {
            Ok(accepted) => outcome.accepted += u64::from(accepted),
            Err(message) => outcome.findings.push(Finding { input, message }),
        }
    }
    outcome.elapsed = started.elapsed();
    outcome
}
