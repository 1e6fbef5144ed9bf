//! Helpers shared by the integration tests, and the fuzzer ([`fuzz`]).

pub mod fuzz;

use std::sync::Arc;

use disk_image::storage::{FaultyStorage, Storage};
use disk_image::{FRAME_BYTES, Geometry};
use kernel::clock::Clock;
use kernel::kernel::{Background, Config, Kernel};
use kernel::restart::{self, LoadedImage};

/// A freshly formatted in-memory image of `bytes` bytes, as durable bytes.
pub fn formatted_image(bytes: u64) -> Vec<u8> {
    let geometry = Geometry::for_size(bytes).expect("geometry");
    let storage = FaultyStorage::new(&vec![0u8; (geometry.total_frames * FRAME_BYTES) as usize], None);
    disk_image::format(&storage, geometry, 0x5EED, 1).expect("format");
    storage.durable_image()
}

/// Loads an in-memory image's newest checkpoint.
pub fn load(image: &[u8]) -> (Arc<FaultyStorage>, LoadedImage) {
    load_with(Arc::new(FaultyStorage::new(image, None)))
}

/// Loads the newest checkpoint of the image in `storage`.
pub fn load_with(storage: Arc<FaultyStorage>) -> (Arc<FaultyStorage>, LoadedImage) {
    let dynamic: Arc<dyn Storage> = storage.clone();
    let len = storage.frame_count() * FRAME_BYTES;
    let loaded = restart::load(dynamic, len).expect("load");
    (storage, loaded)
}

/// Boots a kernel (inline background work, simulated clock) on `storage`.
pub fn boot(storage: Arc<FaultyStorage>) -> (Arc<FaultyStorage>, Kernel) {
    boot_with(storage, Config::default())
}

/// Boots a kernel as [`boot`] does, with `config`.
pub fn boot_with(storage: Arc<FaultyStorage>, config: Config) -> (Arc<FaultyStorage>, Kernel) {
    let (storage, loaded) = load_with(storage);
    let clock = Clock::simulated_after_restart(loaded.opened.header.checkpoint_time_ns, 1_000);
    let kernel = Kernel::boot(loaded, clock, config, Background::Inline).expect("boot");
    (storage, kernel)
}

/// A kernel over a fresh in-memory image, with a simulated clock.
pub fn kernel(bytes: u64) -> (Arc<FaultyStorage>, Kernel) {
    boot(Arc::new(FaultyStorage::new(&formatted_image(bytes), None)))
}

/// Little-endian bytes of instruction words.
pub fn code(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A kernel over a fresh image with a prime meter and an operator domain
/// (see `kernel::operator`); returns the prime meter key too.
pub fn kernel_with_operator(
    bytes: u64,
) -> (Arc<FaultyStorage>, Kernel, kernel::operator::Operator, kernel::key::Key) {
    let (storage, mut k) = kernel(bytes);
    let mut b = kernel::builder::Builder::new(&mut k);
    let prime = b.prime_meter(u64::MAX).expect("prime meter");
    let op = kernel::operator::Operator::new(&mut b, prime).expect("operator");
    (storage, k, op, prime)
}

/// Assembles a domain program (with `domains/include` on the include path)
/// into an ELF executable.
pub fn asm(src: &str) -> Vec<u8> {
    assemble(src).to_elf()
}

/// Assembles a domain program (with `domains/include` on the include path),
/// keeping its symbols.
pub fn assemble(src: &str) -> assembler::Program {
    let include = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../domains/include");
    let resolver = assembler::FsResolver::with_search_dirs(vec![include]);
    assembler::assemble(
        assembler::Source { name: "test.s", text: src },
        &resolver,
        &assembler::Options::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// What a spawned domain starts with.
#[derive(Clone, Default)]
pub struct Spawn {
    /// Key registers to fill.
    pub keys: Vec<(usize, kernel::key::Key)>,
    /// Root slot 2.
    pub keeper: kernel::key::Key,
    /// Start available instead of running.
    pub available: bool,
    /// Name.
    pub name: String,
}

/// Loads an executable into a new domain on `meter`; returns its root.
pub fn spawn(k: &mut Kernel, meter: kernel::key::Key, elf: &[u8], how: Spawn) -> kernel::key::Cda {
    let program = kernel::elf::parse(elf).expect("elf");
    let mut b = kernel::builder::Builder::new(k);
    let space = b.address_space().expect("space");
    let (pc, sp) = kernel::elf::load(&mut b, space, &program).expect("load");
    let state =
        if how.available { kernel::domain::RunState::Available } else { kernel::domain::RunState::Running };
    let spec = kernel::builder::DomainSpec {
        memory: space,
        meter,
        keeper: how.keeper,
        pc,
        sp,
        keys: how.keys,
        name: how.name,
        state,
        ..Default::default()
    };
    b.domain(&spec).expect("domain")
}

/// A kernel over a fresh in-memory image holding the primordial world
/// (`gnosis format`'s big bang), with a simulated clock.
pub fn world(bytes: u64, settings: domains::world::big_bang::Settings) -> (Arc<FaultyStorage>, Kernel) {
    let (storage, mut k) = kernel(bytes);
    domains::world::big_bang::build(&mut k, &settings).expect("big bang");
    k.checkpoint_now().expect("first checkpoint");
    k.finish_background().expect("first checkpoint written");
    (storage, k)
}

/// Runs a world until every domain waits (or `instructions` have run),
/// then idles the simulated clock forward to the next timer, once: each
/// call covers one burst of activity. Returns the console output.
pub fn run_world(k: &mut Kernel, instructions: u64) -> String {
    k.run(instructions).expect("run");
    if !k.has_ready() {
        k.step().expect("kernel work");
        if !k.has_ready() {
            k.idle_until_next_timer();
        }
    }
    String::from_utf8_lossy(&k.console().take_output()).into_owned()
}
