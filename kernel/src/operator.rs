//! The operator: a domain the host drives, so that tools and tests can
//! invoke keys through the real gate (KeyKOS's operator console).
//!
//! Its program is two instructions, `ecall; ebreak`. A host call sets its
//! registers for the invocation, lets the kernel run (the invoked domains
//! too) until the operator reaches its `ebreak`, and reads the reply from
//! its registers, key registers and receive buffer. Its strings live in its
//! own pages: the send buffer at [`SEND`], the receive buffer at [`RECEIVE`].

use crate::builder::{Builder, DomainSpec};
use crate::domain::RunState;
use crate::invoke::{EntryBlock, ExitBlock, Jump, MAX_STRING};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key};
use crate::trap;

/// Where the operator's code is.
pub const CODE: u32 = 0x1_0000;
/// Its send buffer.
pub const SEND: u32 = 0x2_0000;
/// Its receive buffer.
pub const RECEIVE: u32 = 0x2_1000;
/// The operator domain's name.
pub const NAME: &str = "operator";
/// The key registers a host call's reply keys land in.
pub const RECEIVED: [usize; 4] = [12, 13, 14, 15];
/// Time slices a host call may take before it is abandoned.
const MAX_STEPS: usize = 1_000_000;

/// A reply to a host call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The return code.
    pub code: u32,
    /// The databyte (a1).
    pub databyte: u32,
    /// The string received (truncated to 4096 bytes).
    pub string: Vec<u8>,
    /// The four keys received (DK(0) where none).
    pub keys: [Key; 4],
}

/// Why a host call did not complete.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The kernel failed.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The invocation did not come back (the invoked domain never replied).
    #[error("the invocation did not return within {0} time slices")]
    NoReply(usize),
}

/// The operator domain.
#[derive(Clone, Copy, Debug)]
pub struct Operator {
    /// Its root node.
    pub root: Cda,
    send_page: Cda,
    receive_page: Cda,
}

impl Operator {
    /// Makes an operator domain on the prime meter.
    pub fn new(b: &mut Builder, meter: Key) -> Result<Operator, KernelError> {
        let space = b.address_space()?;
        let code = b.map_fresh(space, CODE, 4096, true)?;
        let send = b.map_fresh(space, SEND, 4096, false)?[0];
        let receive = b.map_fresh(space, RECEIVE, 4096, false)?[0];
        let program: Vec<u8> = [0x0000_0073u32, 0x0010_0073].iter().flat_map(|w| w.to_le_bytes()).collect();
        b.kernel().write_page(code[0], 0, &program)?;
        let spec = DomainSpec {
            memory: space,
            meter,
            pc: CODE,
            name: NAME.into(),
            state: RunState::Available,
            ..Default::default()
        };
        let root = b.domain(&spec)?;
        Ok(Operator { root, send_page: send, receive_page: receive })
    }

    /// Finds the operator again from its root; an error if its address
    /// space no longer maps its buffers (a world damaged beyond what the
    /// checksums catch).
    pub fn from_root(k: &Kernel, root: Cda) -> Result<Operator, KernelError> {
        let space = crate::object::node::slot(k.store(), root, crate::domain::SLOT_MEMORY);
        let page = |vaddr: u32| {
            let mut walked = rustc_hash::FxHashSet::default();
            crate::segment::translate(k.store(), &mut walked, space, vaddr, crate::cpu::Access::Read)
                .map(|t| t.page)
                .map_err(|fault| {
                    KernelError::Image(disk_image::ImageError::Damaged {
                        generation: k.checkpoint_header().generation,
                        what: format!(
                            "the operator domain ({root}) does not map its buffer at {vaddr:#x} ({fault:?})"
                        ),
                    })
                })
        };
        Ok(Operator { root, send_page: page(SEND)?, receive_page: page(RECEIVE)? })
    }

    /// The world's operator domain (named "operator"), if it has one.
    pub fn find(k: &Kernel) -> Result<Option<Operator>, KernelError> {
        crate::inspect::domain_named(k.store(), NAME).map(|root| Operator::from_root(k, root)).transpose()
    }

    /// Sets one of the operator's key registers.
    pub fn set_key(&self, k: &mut Kernel, slot: usize, key: Key) -> Result<(), KernelError> {
        k.host_room(crate::transition::LOAD_FRAMES)?;
        let dib = k.prepare(self.root)?.expect("OPERATOR002 operator is not a domain");
        if slot != 0 {
            dib.keys[slot & 15] = key;
        }
        Ok(())
    }

    /// Sets the key registers host calls receive keys in to DK(0), so that
    /// nothing the host was handed (say, the last objects bought from a
    /// bank) stays reachable from the operator.
    pub fn forget_received(&self, k: &mut Kernel) -> Result<(), KernelError> {
        for slot in RECEIVED {
            self.set_key(k, slot, Key::NULL)?;
        }
        Ok(())
    }

    /// One of the operator's key registers.
    pub fn key(&self, k: &mut Kernel, slot: usize) -> Result<Key, KernelError> {
        k.host_room(crate::transition::LOAD_FRAMES)?;
        Ok(k.prepare(self.root)?.expect("OPERATOR003").keys[slot & 15])
    }

    /// CALLs key register `slot` with `order`, `string`, and the keys in
    /// key registers `pass` (up to four, key i from `pass[i]`); the reply's
    /// keys are also stored in key registers 12..16.
    pub fn call(
        &self,
        k: &mut Kernel,
        slot: usize,
        order: u32,
        string: &[u8],
        pass: &[usize],
    ) -> Result<Reply, HostError> {
        assert!(string.len() <= MAX_STRING && pass.len() <= 4, "OPERATOR004 message too big");
        k.host_room(crate::transition::LOAD_FRAMES)?;
        k.write_page(self.send_page, 0, string)?;
        let mut slots = [0usize; 4];
        slots[..pass.len()].copy_from_slice(pass);
        let exit = ExitBlock {
            invoked: slot,
            jump: Jump::Call,
            send_string: true,
            key_mask: (1u8 << pass.len()) - 1,
            slots,
        };
        let entry = EntryBlock { receive_string: true, key_mask: 0xF, slots: RECEIVED };
        let dib = k.prepare(self.root)?.expect("OPERATOR005");
        dib.hart.pc = CODE;
        for (r, v) in [
            (10, order),
            (11, exit.encode()),
            (12, entry.encode()),
            (13, SEND),
            (14, string.len() as u32),
            (15, RECEIVE),
            (16, MAX_STRING as u32),
        ] {
            dib.hart.set_x(r, v);
        }
        dib.trap = Default::default();
        dib.state = RunState::Running;
        k.ready.push_front(self.root);
        for _ in 0..MAX_STEPS {
            k.step()?;
            let dib = k.prepare(self.root)?.expect("OPERATOR006");
            if dib.trap.code == trap::BREAKPOINT {
                return Ok(self.collect(k)?);
            }
        }
        Err(HostError::NoReply(MAX_STEPS))
    }

    fn collect(&self, k: &mut Kernel) -> Result<Reply, KernelError> {
        let dib = k.prepare(self.root)?.expect("OPERATOR007");
        let (code, databyte, len) = (dib.hart.x(10), dib.hart.x(11), dib.hart.x(12) as usize);
        let keys = RECEIVED.map(|slot| dib.keys[slot]);
        dib.trap = Default::default();
        dib.state = RunState::Available;
        let mut string = vec![0u8; len.min(MAX_STRING)];
        crate::object::page::read(&k.store, self.receive_page, 0, &mut string);
        Ok(Reply { code, databyte, string, keys })
    }
}
