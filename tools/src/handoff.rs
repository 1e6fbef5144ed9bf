//! The channel between `gnosis supervise` and its child `gnosis run`: a
//! Unix `SOCK_SEQPACKET` socket pair over which the watcher hands the child
//! its console connections as file descriptors (`SCM_RIGHTS`), and the child
//! says when it is ready and when a connection closed.
//!
//! Every message is one packet of 8 bytes, a little-endian connection id,
//! so no message is ever split or merged: from the watcher, a connection id
//! with the connection's descriptor attached; from the child, [`READY`]
//! once it has booted, then the id of each connection whose client hung up.
//!
//! This is the one module of `tools` with `unsafe`: a descriptor received
//! from the kernel, or inherited from the watcher, arrives as a bare number
//! and only `FromRawFd` turns it into an owned descriptor.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr, recvmsg,
    sendmsg, socketpair,
};

/// The id the child sends once it has booted and can take connections.
pub const READY: u64 = u64::MAX;

/// One end of the channel.
pub struct Channel(OwnedFd);

/// What arrived on a channel.
#[derive(Debug)]
pub enum Message {
    /// An id, with the descriptor of a connection when the watcher sent one.
    Id(u64, Option<OwnedFd>),
    /// The other end is gone (the child died, or the watcher).
    Closed,
}

impl Channel {
    /// A new channel: the watcher's end, and the end for the child, which
    /// is made inheritable so the child can be given its number.
    pub fn pair() -> nix::Result<(Channel, OwnedFd)> {
        let (ours, theirs) =
            socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
        fcntl(theirs.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::empty()))?;
        Ok((Channel(ours), theirs))
    }

    /// The end the watcher gave the child, by its inherited number.
    pub fn inherited(fd: RawFd) -> anyhow::Result<Channel> {
        let flags = fcntl(fd, FcntlArg::F_GETFD).map_err(|e| {
            anyhow::anyhow!(
                "--handoff-fd {fd} is not an open descriptor ({e}); it is for gnosis supervise only"
            )
        })?;
        // SAFETY: `fd` is open (F_GETFD succeeded) and was inherited from the
        // watcher for this process alone; nothing else in this process opened
        // it or will close it, so ownership passes to the channel. Keeping it
        // out of any later child is what the CLOEXEC flag below is for.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::from_bits_truncate(flags) | FdFlag::FD_CLOEXEC))?;
        Ok(Channel(owned))
    }

    /// Sends `id`, with the connection `fd` attached if given.
    pub fn send(&self, id: u64, fd: Option<BorrowedFd>) -> nix::Result<()> {
        let bytes = id.to_le_bytes();
        let fds = fd.map(|f| [f.as_raw_fd()]);
        let rights: Vec<ControlMessage> = fds.iter().map(|f| ControlMessage::ScmRights(f)).collect();
        sendmsg::<UnixAddr>(self.0.as_raw_fd(), &[IoSlice::new(&bytes)], &rights, MsgFlags::empty(), None)?;
        Ok(())
    }

    /// Waits for the next message.
    pub fn receive(&self) -> nix::Result<Message> {
        let mut bytes = [0u8; 8];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut bytes)];
        let msg =
            recvmsg::<UnixAddr>(self.0.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)?;
        if msg.bytes == 0 {
            return Ok(Message::Closed);
        }
        let mut fd = None;
        for cmsg in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(received) = cmsg {
                for raw in received {
                    // SAFETY: the kernel installed `raw` in this process's
                    // descriptor table for this message alone (SCM_RIGHTS);
                    // no other owner exists, so it is ours to own and close.
                    fd = Some(unsafe { OwnedFd::from_raw_fd(raw) });
                }
            }
        }
        let id = u64::from_le_bytes(bytes);
        Ok(Message::Id(id, fd))
    }
}
