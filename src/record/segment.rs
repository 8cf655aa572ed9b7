//! Recording files: gzip segments of framed records and the text index that lets a replay find
//! and seek into them.
//!
//! A segment (`seg-000001.sbr.gz`) is a series of gzip members. The first member starts with
//! [`SEGMENT_MAGIC`]; a new member starts at every seek point (about every
//! [`SEEK_EVERY_BYTES`] of raw record bytes), so a reader can open the file at a seek point's
//! byte offset and decode from there. Inside, every record is the byte ring's layout: receive
//! time (u64 LE, Unix ns), connection id (u16 LE), payload length (u32 LE), payload.
//!
//! The index (`index.txt`, appended and flushed as the recording goes) has one line per fact:
//! `conn <id> <kind> <label>`, `open <segment>`, `seek <segment> <byte offset> <first recv ns>
//! <frame number in segment>`, `segment <segment> <first recv ns> <last recv ns> <frames>
//! <compressed bytes>` (at close). A segment opened but never closed (crash) is still listed by
//! its `open` line.
//!
//! Invariants: a segment is rotated when its compressed size reaches `max_segment_bytes` or its
//! receive-time span reaches `max_segment_secs` (both checked before each record, so a segment
//! always holds at least one record); segment names sort in recording order.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

/// First bytes of every segment's decoded stream.
pub const SEGMENT_MAGIC: &[u8; 8] = b"SBREC01\n";
/// Raw record bytes between seek points.
pub const SEEK_EVERY_BYTES: u64 = 1 << 20;
/// Name of the index file in a recording directory.
pub const INDEX_FILE: &str = "index.txt";

/// Counts the compressed bytes written to the file.
struct CountingFile {
    inner: BufWriter<File>,
    written: u64,
}

impl Write for CountingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Rotation limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentLimits {
    pub max_segment_bytes: u64,
    pub max_segment_ns: u64,
}

struct Open {
    name: String,
    /// `None` only while a member is being finished.
    gz: Option<GzEncoder<CountingFile>>,
    first_ns: u64,
    last_ns: u64,
    frames: u64,
    /// Raw bytes since the last seek point.
    since_seek: u64,
}

/// What the writer has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub frames: u64,
    pub raw_bytes: u64,
    pub segments: u64,
    pub seek_points: u64,
}

/// Writes records into rotating segments and keeps the index.
pub struct SegmentWriter {
    dir: PathBuf,
    limits: SegmentLimits,
    index: BufWriter<File>,
    open: Option<Open>,
    next_segment: u64,
    stats: WriterStats,
}

impl SegmentWriter {
    /// Create `dir` (if needed) and a fresh index listing `conns` (id, kind, label). Refuses a
    /// directory that already holds an index.
    pub fn create(
        dir: &Path,
        limits: SegmentLimits,
        conns: &[(u16, &str, &str)],
    ) -> io::Result<SegmentWriter> {
        std::fs::create_dir_all(dir)?;
        let index = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(INDEX_FILE))?;
        let mut index = BufWriter::new(index);
        for (id, kind, label) in conns {
            // Labels may hold spaces: the label is the rest of the line.
            writeln!(index, "conn {id} {kind} {label}")?;
        }
        index.flush()?;
        Ok(SegmentWriter {
            dir: dir.to_path_buf(),
            limits,
            index,
            open: None,
            next_segment: 1,
            stats: WriterStats::default(),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    fn start_segment(&mut self, recv_ns: u64) -> io::Result<()> {
        let name = format!("seg-{:06}.sbr.gz", self.next_segment);
        self.next_segment += 1;
        let file = File::create(self.dir.join(&name))?;
        let counting = CountingFile {
            inner: BufWriter::new(file),
            written: 0,
        };
        let mut gz = GzEncoder::new(counting, Compression::fast());
        gz.write_all(SEGMENT_MAGIC)?;
        writeln!(self.index, "open {name}")?;
        writeln!(self.index, "seek {name} 0 {recv_ns} 0")?;
        self.index.flush()?;
        self.stats.segments += 1;
        self.stats.seek_points += 1;
        self.open = Some(Open {
            name,
            gz: Some(gz),
            first_ns: recv_ns,
            last_ns: recv_ns,
            frames: 0,
            since_seek: 0,
        });
        Ok(())
    }

    /// Close the current segment (finish its gzip stream, write its index line).
    pub fn close_segment(&mut self) -> io::Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let mut written = 0;
        if let Some(gz) = open.gz {
            let mut counting = gz.finish()?;
            counting.flush()?;
            written = counting.written;
        }
        writeln!(
            self.index,
            "segment {} {} {} {} {}",
            open.name, open.first_ns, open.last_ns, open.frames, written
        )?;
        self.index.flush()
    }

    /// Append one record, rotating first when a limit is reached.
    pub fn write(&mut self, recv_ns: u64, conn: u16, payload: &[u8]) -> io::Result<()> {
        let rotate = self.open.as_ref().is_some_and(|o| {
            o.gz.as_ref().map_or(0, |g| g.get_ref().written) >= self.limits.max_segment_bytes
                || recv_ns.saturating_sub(o.first_ns) >= self.limits.max_segment_ns
        });
        if rotate {
            self.close_segment()?;
        }
        if self.open.is_none() {
            self.start_segment(recv_ns)?;
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        if open.since_seek >= SEEK_EVERY_BYTES {
            // A new gzip member: its first byte is a place a reader can start from.
            let member = open
                .gz
                .take()
                .ok_or_else(|| io::Error::other("segment without an encoder"))?;
            let counting = member.finish()?;
            let offset = counting.written;
            open.gz = Some(GzEncoder::new(counting, Compression::fast()));
            open.since_seek = 0;
            writeln!(
                self.index,
                "seek {} {offset} {recv_ns} {}",
                open.name, open.frames
            )?;
            self.index.flush()?;
            self.stats.seek_points += 1;
        }
        let len = u32::try_from(payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
        let gz = open
            .gz
            .as_mut()
            .ok_or_else(|| io::Error::other("segment without an encoder"))?;
        gz.write_all(&recv_ns.to_le_bytes())?;
        gz.write_all(&conn.to_le_bytes())?;
        gz.write_all(&len.to_le_bytes())?;
        gz.write_all(payload)?;
        open.last_ns = open.last_ns.max(recv_ns);
        open.frames += 1;
        let raw = 14 + payload.len() as u64;
        open.since_seek += raw;
        self.stats.frames += 1;
        self.stats.raw_bytes += raw;
        Ok(())
    }

    /// Close the last segment and flush the index.
    pub fn finish(mut self) -> io::Result<WriterStats> {
        self.close_segment()?;
        self.index.flush()?;
        Ok(self.stats)
    }
}
