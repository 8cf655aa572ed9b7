//! Kernel receive times for the simulator's measurement hooks: [`RxStampedSocket`] wraps an
//! accepted `TcpStream`, turns on `SO_TIMESTAMPNS`, reads with `recvmsg` and remembers when the
//! kernel received the data of the latest read, on [`crate::clock::mono_ns`]'s clock. A
//! benchmark then times an order request to its arrival at the simulated CLOB's socket rather
//! than to the moment the CLOB's thread was scheduled to read it.
//!
//! Invariants: reads and writes behave as the plain socket's (same errors, same timeouts);
//! a read without a timestamp (option refused, or no control message: the kernel turns
//! stamping on asynchronously, so the first packets after may be unstamped) leaves the time at `None`
//! for that read instead of guessing; the kernel's `CLOCK_REALTIME` stamp is moved onto the
//! monotonic clock with the offset between the two clocks read at the moment of the read
//! (sub-microsecond error, no drift within a run).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

/// A TCP socket whose reads carry the kernel's receive time (see the module docs).
#[derive(Debug)]
pub struct RxStampedSocket {
    sock: TcpStream,
    stamping: bool,
    last_rx_mono_ns: Option<u64>,
}

impl RxStampedSocket {
    /// Wrap `sock`; asks the kernel for receive timestamps (if it refuses, reads are plain and
    /// carry no time).
    pub fn new(sock: TcpStream) -> RxStampedSocket {
        let on: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and a c_int option value of the stated size.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        RxStampedSocket {
            sock,
            stamping: rc == 0,
            last_rx_mono_ns: None,
        }
    }

    /// The socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.sock
    }

    /// When the kernel received the data of the latest successful read (monotonic ns).
    pub fn last_rx_mono_ns(&self) -> Option<u64> {
        self.last_rx_mono_ns
    }
}

impl Read for RxStampedSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.stamping {
            return self.sock.read(buf);
        }
        let mut stamp = None;
        let n = recv_stamped(self.sock.as_raw_fd(), buf, 0, |level, kind, wall_ns| {
            if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS {
                stamp = Some(wall_ns);
            }
        })?;
        self.last_rx_mono_ns = stamp.and_then(wall_to_mono);
        Ok(n)
    }
}

/// One `recvmsg` on `fd` into `buf` with `flags`; calls `on_stamp(level, type, wall ns)` for
/// every control message, reading the `timespec` at its start (the first one of
/// `SCM_TIMESTAMPING`'s three). Shared by the receive stamps here and `sim::tx_stamp`'s error
/// queue reads.
pub(crate) fn recv_stamped(
    fd: std::os::fd::RawFd,
    buf: &mut [u8],
    flags: libc::c_int,
    mut on_stamp: impl FnMut(libc::c_int, libc::c_int, i128),
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for SCM_TIMESTAMPING (three timespecs) and an extended error, 8-aligned.
    let mut control = [0u64; 32];
    // SAFETY: msghdr is plain data; zeroed is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at `iov` (over `buf`) and `control`, both alive for the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within
    // msg_controllen; the timespec is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let ts: libc::timespec =
                std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
            let wall = (ts.tv_sec as i128) * 1_000_000_000 + ts.tv_nsec as i128;
            on_stamp((*c).cmsg_level, (*c).cmsg_type, wall);
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(n as usize)
}

/// A kernel `CLOCK_REALTIME` stamp moved onto [`crate::clock::mono_ns`]'s clock with the offset
/// between the two clocks read now.
pub(crate) fn wall_to_mono(wall_ns: i128) -> Option<u64> {
    let offset = i128::from(crate::clock::wall_ns()) - i128::from(crate::clock::mono_ns());
    u64::try_from(wall_ns - offset).ok()
}

impl Write for RxStampedSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn reads_carry_a_kernel_time_between_the_write_and_the_read() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let mut s = RxStampedSocket::new(server);
        assert!(s.stamping, "SO_TIMESTAMPNS refused");
        // The kernel turns receive stamping on asynchronously the first time a socket asks:
        // the first packets may come unstamped (read as `None`), later ones are stamped.
        let mut buf = [0u8; 16];
        let mut unstamped = 0;
        let (rx, before, read_start) = loop {
            let before = crate::clock::mono_ns();
            client.write_all(b"hello").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            let read_start = crate::clock::mono_ns();
            let n = s.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello");
            match s.last_rx_mono_ns() {
                Some(rx) => break (rx, before, read_start),
                None => {
                    unstamped += 1;
                    assert!(unstamped < 50, "no read ever carried a receive time");
                }
            }
        };
        // The kernel's time of arrival, not of the read: after the write began, before the
        // read did (the clocks' offset is read once per read: allow it a few microseconds).
        assert!(rx + 5_000 >= before, "{rx} < {before}");
        assert!(rx < read_start, "rx {rx} read {read_start}");
        drop(client);
        assert_eq!(s.read(&mut buf).unwrap(), 0);
    }
}
