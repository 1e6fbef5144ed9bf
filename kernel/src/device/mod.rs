//! Devices: I/O outside the persistent world. Device keys are rescinded at
//! every restart (they carry the restart stamp of the boot they were made
//! in); device state is not checkpointed.
//!
//! The **console** (class 1) is a byte stream: what domains write is
//! buffered for the host (`gnosis run` prints it), what the host feeds in
//! is buffered for domains to read.

use std::collections::VecDeque;

/// Device class of the console.
pub const CONSOLE: u16 = 1;

/// Bytes of console input buffered at most.
pub const CONSOLE_INPUT_MAX: usize = 64 * 1024;

/// The console's buffers.
#[derive(Default, Debug)]
pub struct Console {
    /// Written by domains, not yet taken by the host.
    pub output: Vec<u8>,
    /// Fed by the host, not yet read by domains.
    pub input: VecDeque<u8>,
}

impl Console {
    /// Takes everything domains wrote since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Feeds input for domains (beyond the buffer's limit, bytes are dropped).
    pub fn feed(&mut self, bytes: &[u8]) {
        let room = CONSOLE_INPUT_MAX.saturating_sub(self.input.len());
        self.input.extend(&bytes[..bytes.len().min(room)]);
    }
}
