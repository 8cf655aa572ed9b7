//! Reading a recording back: the index, then every segment's records in order, optionally
//! starting at the last seek point at or before a receive time.
//!
//! Invariants: nothing here panics on a damaged recording — a bad index line, a missing
//! segment, a truncated gzip member or a record running past the end is a counted error (the
//! reader stops that segment and goes on with the next); records come out in file order.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::segment::{INDEX_FILE, SEGMENT_MAGIC};
use super::ConnKind;

/// One connection of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    pub id: u16,
    pub kind: ConnKind,
    pub label: String,
}

/// A seek point of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekPoint {
    pub offset: u64,
    pub first_ns: u64,
    pub frame: u64,
}

/// One segment as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub name: String,
    pub seeks: Vec<SeekPoint>,
    /// From the `segment` line (`None` when the segment was never closed).
    pub first_ns: Option<u64>,
    pub last_ns: Option<u64>,
    pub frames: Option<u64>,
    pub bytes: Option<u64>,
}

/// A parsed `index.txt`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordingIndex {
    pub conns: Vec<ConnInfo>,
    pub segments: Vec<SegmentInfo>,
    /// Lines that could not be read.
    pub bad_lines: u64,
}

/// Why a recording could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}: no connections in the index")]
    Empty(PathBuf),
}

impl RecordingIndex {
    /// Parse the index of the recording in `dir`.
    pub fn load(dir: &Path) -> Result<RecordingIndex, ReadError> {
        let path = dir.join(INDEX_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ReadError::Io {
            path: path.clone(),
            source,
        })?;
        let mut idx = RecordingIndex::default();
        for line in text.lines() {
            if !idx.apply(line) {
                idx.bad_lines += 1;
            }
        }
        if idx.conns.is_empty() {
            return Err(ReadError::Empty(path));
        }
        Ok(idx)
    }

    fn segment_mut(&mut self, name: &str) -> Option<&mut SegmentInfo> {
        self.segments.iter_mut().find(|s| s.name == name)
    }

    fn apply(&mut self, line: &str) -> bool {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["conn", id, kind, ..] => {
                let (Ok(id), Some(kind)) = (id.parse(), ConnKind::parse(kind)) else {
                    return false;
                };
                let label = f.get(3..).map(|l| l.join(" ")).unwrap_or_default();
                self.conns.push(ConnInfo { id, kind, label });
                true
            }
            ["open", name] => {
                if !safe_name(name) {
                    return false;
                }
                self.segments.push(SegmentInfo {
                    name: (*name).to_string(),
                    seeks: Vec::new(),
                    first_ns: None,
                    last_ns: None,
                    frames: None,
                    bytes: None,
                });
                true
            }
            ["seek", name, off, ns, frame] => {
                let (Ok(offset), Ok(first_ns), Ok(frame)) =
                    (off.parse(), ns.parse(), frame.parse())
                else {
                    return false;
                };
                match self.segment_mut(name) {
                    Some(s) => {
                        s.seeks.push(SeekPoint {
                            offset,
                            first_ns,
                            frame,
                        });
                        true
                    }
                    None => false,
                }
            }
            ["segment", name, first, last, frames, bytes] => {
                let (Ok(first), Ok(last), Ok(frames), Ok(bytes)) =
                    (first.parse(), last.parse(), frames.parse(), bytes.parse())
                else {
                    return false;
                };
                match self.segment_mut(name) {
                    Some(s) => {
                        s.first_ns = Some(first);
                        s.last_ns = Some(last);
                        s.frames = Some(frames);
                        s.bytes = Some(bytes);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }

    /// The kind of connection `id`.
    pub fn kind_of(&self, id: u16) -> Option<ConnKind> {
        self.conns.iter().find(|c| c.id == id).map(|c| c.kind)
    }
}

/// Segment names are plain file names (no path separators).
fn safe_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.contains('\\') && name != ".." && name != "."
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFrame {
    pub recv_ns: u64,
    pub conn: u16,
    pub payload: Vec<u8>,
}

/// Largest record payload the reader accepts (a longer length field is damage).
pub const MAX_PAYLOAD: usize = 64 << 20;

/// Reads every record of a recording, segment after segment.
pub struct RecordingReader {
    dir: PathBuf,
    pub index: RecordingIndex,
    segment: usize,
    current: Option<MultiGzDecoder<BufReader<File>>>,
    /// Skip records received before this (set by [`RecordingReader::seek`]).
    from_ns: u64,
    /// Damaged or missing segments and truncated records.
    pub errors: u64,
}

impl RecordingReader {
    /// Open the recording in `dir`.
    pub fn open(dir: &Path) -> Result<RecordingReader, ReadError> {
        Ok(RecordingReader {
            dir: dir.to_path_buf(),
            index: RecordingIndex::load(dir)?,
            segment: 0,
            current: None,
            from_ns: 0,
            errors: 0,
        })
    }

    /// Position at the last seek point at or before `recv_ns` (records before `recv_ns` are
    /// skipped). Returns the segment and byte offset started from.
    pub fn seek(&mut self, recv_ns: u64) -> Option<(String, u64)> {
        let mut best: Option<(usize, SeekPoint)> = None;
        for (i, s) in self.index.segments.iter().enumerate() {
            for p in &s.seeks {
                if p.first_ns <= recv_ns {
                    best = Some((i, *p));
                }
            }
        }
        let (i, p) = best.or_else(|| {
            let s = self.index.segments.first()?;
            Some((0, *s.seeks.first()?))
        })?;
        self.from_ns = recv_ns;
        self.segment = i;
        let name = self.index.segments[i].name.clone();
        match self.open_at(&name, p.offset) {
            Ok(d) => {
                self.current = Some(d);
                self.segment = i + 1;
                Some((name, p.offset))
            }
            Err(_) => {
                self.errors += 1;
                None
            }
        }
    }

    fn open_at(&self, name: &str, offset: u64) -> io::Result<MultiGzDecoder<BufReader<File>>> {
        let mut file = File::open(self.dir.join(name))?;
        file.seek(SeekFrom::Start(offset))?;
        let mut d = MultiGzDecoder::new(BufReader::new(file));
        if offset == 0 {
            let mut magic = [0u8; 8];
            d.read_exact(&mut magic)?;
            if &magic != SEGMENT_MAGIC {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "not a segment"));
            }
        }
        Ok(d)
    }

    /// The next record, `None` at the end of the recording.
    pub fn next_frame(&mut self) -> Option<RecordedFrame> {
        loop {
            if self.current.is_none() {
                let name = self.index.segments.get(self.segment)?.name.clone();
                self.segment += 1;
                match self.open_at(&name, 0) {
                    Ok(d) => self.current = Some(d),
                    Err(_) => {
                        self.errors += 1;
                        continue;
                    }
                }
            }
            let d = self.current.as_mut()?;
            match read_record(d) {
                Ok(Some(f)) => {
                    if f.recv_ns < self.from_ns {
                        continue;
                    }
                    return Some(f);
                }
                Ok(None) => self.current = None,
                Err(_) => {
                    self.errors += 1;
                    self.current = None;
                }
            }
        }
    }
}

/// One record; `Ok(None)` at a clean end of stream.
fn read_record(r: &mut impl Read) -> io::Result<Option<RecordedFrame>> {
    let mut header = [0u8; 14];
    let mut got = 0;
    while got < header.len() {
        let n = r.read(&mut header[got..])?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated header",
                ))
            };
        }
        got += n;
    }
    let recv_ns = u64::from_le_bytes([
        header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7],
    ]);
    let conn = u16::from_le_bytes([header[8], header[9]]);
    let len = u32::from_le_bytes([header[10], header[11], header[12], header[13]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "record too long",
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some(RecordedFrame {
        recv_ns,
        conn,
        payload,
    }))
}
