//! RFC 6242 message framing, as a pure codec over byte slices: the
//! end-of-message framing of base:1.0 (`]]>]]>` after every message, used for
//! the hello exchange) and the chunked framing of base:1.1
//! (`\n#<size>\n<data>` chunks closed by `\n##\n`). The decoder accepts
//! input split or coalesced at any byte boundary and enforces the maximum
//! message size while reading, so an oversized message is refused before it
//! is buffered whole. It imports nothing but `bytes`.

use bytes::{Buf, BytesMut};

/// The end-of-message marker of base:1.0 framing.
pub const EOM: &[u8] = b"]]>]]>";

/// Largest chunk size RFC 6242 §4.2 allows.
const MAX_CHUNK: u64 = 4_294_967_295;

/// Which framing the session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// base:1.0, RFC 6242 §4.3.
    EndOfMessage,
    /// base:1.1, RFC 6242 §4.2.
    Chunked,
}

/// A framing violation; the session is closed after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("message larger than the maximum of {max} bytes")]
    TooBig { max: usize },
    #[error("invalid chunk header: {0}")]
    BadChunkHeader(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Expecting `\n#` then digits or `#`.
    Header,
    /// Inside a chunk with this many bytes left.
    Data(usize),
}

/// Incremental decoder: feed bytes with [`Decoder::push`], take complete
/// messages with [`Decoder::next_message`].
#[derive(Debug)]
pub struct Decoder {
    framing: Framing,
    max: usize,
    buf: BytesMut,
    /// Chunked: the message assembled so far.
    msg: Vec<u8>,
    state: ChunkState,
    /// End-of-message: bytes of `buf` already searched for the marker.
    scanned: usize,
}

impl Decoder {
    pub fn new(framing: Framing, max_message: usize) -> Self {
        Decoder {
            framing,
            max: max_message,
            buf: BytesMut::new(),
            msg: Vec::new(),
            state: ChunkState::Header,
            scanned: 0,
        }
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Switches to another framing (after the hello exchange); bytes already
    /// received after the last message are decoded with the new framing.
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
        self.state = ChunkState::Header;
        self.msg.clear();
        self.scanned = 0;
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet part of a returned message.
    pub fn pending(&self) -> usize {
        self.buf.len() + self.msg.len()
    }

    /// The next complete message, `Ok(None)` if more input is needed.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        match self.framing {
            Framing::EndOfMessage => self.next_eom(),
            Framing::Chunked => self.next_chunked(),
        }
    }

    fn next_eom(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let from = self.scanned.saturating_sub(EOM.len() - 1);
        match find(&self.buf[from..], EOM) {
            Some(i) => {
                let end = from + i;
                if end > self.max {
                    return Err(FramingError::TooBig { max: self.max });
                }
                let msg = self.buf.split_to(end).to_vec();
                self.buf.advance(EOM.len());
                self.scanned = 0;
                Ok(Some(msg))
            }
            None => {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max + EOM.len() {
                    return Err(FramingError::TooBig { max: self.max });
                }
                Ok(None)
            }
        }
    }

    fn next_chunked(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        loop {
            match self.state {
                ChunkState::Data(left) => {
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    let n = left.min(self.buf.len());
                    self.msg.extend_from_slice(&self.buf[..n]);
                    self.buf.advance(n);
                    self.state = if n == left {
                        ChunkState::Header
                    } else {
                        ChunkState::Data(left - n)
                    };
                }
                ChunkState::Header => {
                    // Shortest header: "\n##\n" or "\n#1\n".
                    if self.buf.len() < 4 {
                        self.check_prefix()?;
                        return Ok(None);
                    }
                    if &self.buf[..2] != b"\n#" {
                        return Err(bad_header(&self.buf));
                    }
                    if self.buf[2] == b'#' {
                        if self.buf[3] != b'\n' {
                            return Err(bad_header(&self.buf));
                        }
                        self.buf.advance(4);
                        if self.msg.is_empty() {
                            return Err(FramingError::BadChunkHeader(
                                "end-of-chunks before any chunk".into(),
                            ));
                        }
                        return Ok(Some(std::mem::take(&mut self.msg)));
                    }
                    // "\n#" 1*10DIGIT "\n"
                    let digits = self.buf[2..]
                        .iter()
                        .take(11)
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                    if 2 + digits == self.buf.len() {
                        if digits > 10 {
                            return Err(bad_header(&self.buf));
                        }
                        return Ok(None);
                    }
                    if digits == 0 || digits > 10 || self.buf[2 + digits] != b'\n' {
                        return Err(bad_header(&self.buf));
                    }
                    if self.buf[2] == b'0' {
                        return Err(bad_header(&self.buf));
                    }
                    let size: u64 = std::str::from_utf8(&self.buf[2..2 + digits])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| bad_header(&self.buf))?;
                    if size > MAX_CHUNK {
                        return Err(bad_header(&self.buf));
                    }
                    let total = self.msg.len() as u64 + size;
                    if total > self.max as u64 {
                        return Err(FramingError::TooBig { max: self.max });
                    }
                    self.buf.advance(3 + digits);
                    self.state = ChunkState::Data(size as usize);
                }
            }
        }
    }

    /// With fewer than 4 bytes buffered, rejects what can already not be a
    /// header.
    fn check_prefix(&self) -> Result<(), FramingError> {
        let b = &self.buf[..];
        let ok = match b.len() {
            0 => true,
            1 => b[0] == b'\n',
            2 => b == b"\n#",
            _ => &b[..2] == b"\n#" && (b[2] == b'#' || (b'1'..=b'9').contains(&b[2])),
        };
        if ok { Ok(()) } else { Err(bad_header(b)) }
    }
}

fn bad_header(b: &[u8]) -> FramingError {
    let shown: String = b
        .iter()
        .take(16)
        .flat_map(|c| std::ascii::escape_default(*c))
        .map(char::from)
        .collect();
    FramingError::BadChunkHeader(format!("{shown:?}"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Frames one message for sending.
pub fn encode(framing: Framing, msg: &[u8]) -> Vec<u8> {
    match framing {
        Framing::EndOfMessage => {
            let mut out = Vec::with_capacity(msg.len() + EOM.len());
            out.extend_from_slice(msg);
            out.extend_from_slice(EOM);
            out
        }
        Framing::Chunked => {
            let mut out = Vec::with_capacity(msg.len() + 32);
            // One chunk per message (RFC 6242 allows any split); an empty
            // message cannot be framed as a chunk, so it never is sent.
            for part in msg.chunks(MAX_CHUNK as usize) {
                out.extend_from_slice(format!("\n#{}\n", part.len()).as_bytes());
                out.extend_from_slice(part);
            }
            out.extend_from_slice(b"\n##\n");
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Decoder) -> Result<Vec<Vec<u8>>, FramingError> {
        let mut out = Vec::new();
        while let Some(m) = d.next_message()? {
            out.push(m);
        }
        Ok(out)
    }

    #[test]
    fn eom_coalesced_messages() {
        let mut d = Decoder::new(Framing::EndOfMessage, 1024);
        d.push(b"<a/>]]>]]><b/>]]>]]><c");
        assert_eq!(
            all(&mut d).unwrap(),
            vec![b"<a/>".to_vec(), b"<b/>".to_vec()]
        );
        d.push(b"/>]]>]]>");
        assert_eq!(all(&mut d).unwrap(), vec![b"<c/>".to_vec()]);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn eom_split_at_every_byte() {
        let input = b"<hello>x</hello>]]>]]><rpc/>]]>]]>";
        let mut d = Decoder::new(Framing::EndOfMessage, 1024);
        let mut got = Vec::new();
        for b in input {
            d.push(&[*b]);
            got.extend(all(&mut d).unwrap());
        }
        assert_eq!(got, vec![b"<hello>x</hello>".to_vec(), b"<rpc/>".to_vec()]);
    }

    #[test]
    fn eom_too_big_is_refused_before_the_end() {
        let mut d = Decoder::new(Framing::EndOfMessage, 8);
        d.push(b"0123456789abcdef");
        assert_eq!(d.next_message(), Err(FramingError::TooBig { max: 8 }));
    }

    #[test]
    fn chunked_multi_chunk_message() {
        let mut d = Decoder::new(Framing::Chunked, 1024);
        d.push(b"\n#4\n<rpc\n#17\n message-id=\"1\"/>\n##\n");
        assert_eq!(
            all(&mut d).unwrap(),
            vec![b"<rpc message-id=\"1\"/>".to_vec()]
        );
    }

    #[test]
    fn chunked_split_at_every_byte_and_coalesced() {
        let mut input = encode(Framing::Chunked, b"<a>first</a>");
        input.extend(encode(Framing::Chunked, b"<b>second</b>"));
        input.extend(b"\n#3\nabc\n#2\nde\n##\n");
        let expected = vec![
            b"<a>first</a>".to_vec(),
            b"<b>second</b>".to_vec(),
            b"abcde".to_vec(),
        ];
        let mut d = Decoder::new(Framing::Chunked, 1024);
        let mut got = Vec::new();
        for b in &input {
            d.push(&[*b]);
            got.extend(all(&mut d).unwrap());
        }
        assert_eq!(got, expected);
        let mut d = Decoder::new(Framing::Chunked, 1024);
        d.push(&input);
        assert_eq!(all(&mut d).unwrap(), expected);
    }

    #[test]
    fn chunked_bad_headers() {
        for bad in [
            &b"\n#0\n"[..],
            b"\n#01\nx",
            b"\n#-1\n",
            b"\n#abc\n",
            b"#4\nabcd",
            b"x",
            b"\n\n",
            b"\n#4x\n",
            b"\n#12345678901\n",
            b"\n#4294967296\n",
            b"\n###\n",
            b"\n##\n",
        ] {
            let mut d = Decoder::new(Framing::Chunked, usize::MAX);
            d.push(bad);
            assert!(
                matches!(all(&mut d), Err(FramingError::BadChunkHeader(_))),
                "{:?} accepted",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn chunked_data_after_chunk_must_be_header() {
        let mut d = Decoder::new(Framing::Chunked, 1024);
        d.push(b"\n#2\nabXX");
        assert!(matches!(all(&mut d), Err(FramingError::BadChunkHeader(_))));
    }

    #[test]
    fn chunked_too_big_from_header_alone() {
        let mut d = Decoder::new(Framing::Chunked, 100);
        d.push(b"\n#50\n");
        d.push(&[b'a'; 50]);
        d.push(b"\n#51\n");
        assert_eq!(d.next_message(), Err(FramingError::TooBig { max: 100 }));
    }

    #[test]
    fn switch_from_eom_to_chunked_keeps_following_bytes() {
        let mut d = Decoder::new(Framing::EndOfMessage, 1024);
        d.push(b"<hello/>]]>]]>\n#3\nabc\n##\n");
        assert_eq!(d.next_message().unwrap(), Some(b"<hello/>".to_vec()));
        d.set_framing(Framing::Chunked);
        assert_eq!(d.next_message().unwrap(), Some(b"abc".to_vec()));
    }

    #[test]
    fn encode_round_trips() {
        for f in [Framing::EndOfMessage, Framing::Chunked] {
            let mut d = Decoder::new(f, 1024);
            d.push(&encode(f, b"<x/>"));
            assert_eq!(d.next_message().unwrap(), Some(b"<x/>".to_vec()));
        }
        assert_eq!(encode(Framing::Chunked, b"ab"), b"\n#2\nab\n##\n");
    }
}
