//! The NETCONF framing decoder (RFC 6242) on arbitrary input, in both framings, fed in
//! arbitrary pieces: it never panics, never returns more than the message limit, and what
//! it returns re-encodes and decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nectar_netconf::framing::{Decoder, Framing, encode};

const LIMIT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let framing = if sel & 1 == 0 {
        Framing::EndOfMessage
    } else {
        Framing::Chunked
    };
    let step = (sel >> 1) as usize + 1;
    let mut d = Decoder::new(framing, LIMIT);
    for piece in rest.chunks(step) {
        d.push(piece);
        loop {
            match d.next_message() {
                Ok(Some(m)) => {
                    assert!(m.len() <= LIMIT);
                    let mut again = Decoder::new(framing, LIMIT);
                    again.push(&encode(framing, &m));
                    let eom_safe = !m.windows(6).any(|w| w == b"]]>]]>");
                    if !m.is_empty() && (framing == Framing::Chunked || eom_safe) {
                        assert_eq!(again.next_message().ok().flatten(), Some(m));
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
