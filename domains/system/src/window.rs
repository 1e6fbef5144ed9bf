//! A window: a slot of a node in a server's own address space through
//! which the server sees one object's segment at a time, while it works on
//! that object (KeyKOS servers map their objects' segments the same way).
//!
//! The big bang maps nothing else in the window's 1 MiB ([`WINDOW_BYTES`])
//! and gives the server a node key to the node whose slot 0 covers it.
//! [`Window::bytes`] is the only way to touch it, and it borrows the
//! window, so there is at most one view at a time.

use gnosis::keys::Node;
use gnosis::{Key, abi};

/// Bytes a window shows: one slot of an lss-5 node.
pub const WINDOW_BYTES: usize = 1 << 20;

/// A window onto a segment.
pub struct Window {
    node: Node,
}

impl Window {
    /// The window whose node is in key register `node`. There must be one
    /// `Window` per window node.
    pub const fn new(node: Key) -> Window {
        Window { node: Node(node) }
    }

    /// Shows the segment `segment` (a memory key of lss at most 4) in the
    /// window, in place of what it showed.
    pub fn show(&mut self, segment: Key) {
        self.node.swap(0, segment, Key::NULL);
    }

    /// Whether the window shows the segment `segment`, for a server that
    /// must know its view was not taken away while it worked.
    pub fn shows(&self, segment: Key, scratch: Key, discrim: gnosis::keys::Discrim) -> bool {
        self.node.fetch(0, scratch) == 0 && discrim.same(scratch, segment)
    }

    /// The first `len` bytes of the segment shown (at most [`WINDOW_BYTES`]).
    /// Touching a byte the segment does not have is a memory fault of the
    /// server, so callers take only what they know was bought.
    pub fn bytes(&mut self, len: usize) -> &mut [u8] {
        let len = len.min(WINDOW_BYTES);
        // Safety: WINDOW..WINDOW + WINDOW_BYTES is mapped through the
        // window node alone (the big bang maps nothing else there), so no
        // Rust object lives in it; the view borrows `self` mutably, so no
        // two views of it exist at once. Its contents change only through
        // this view, or when `show` (an ecall, which the compiler treats
        // as touching all memory) changes the segment.
        unsafe { core::slice::from_raw_parts_mut(abi::WINDOW as usize as *mut u8, len) }
    }
}
