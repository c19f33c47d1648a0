//! Sealing peer messages: every datagram carries an HMAC-SHA256 tag over its content and the
//! cluster label, computed with the shared key of `--cluster.key-file`. A datagram whose tag does
//! not verify (another key, another label, a stranger, a corrupted packet) is refused before
//! anything in it is parsed.
//!
//! Sans-IO: bytes in, bytes out, no sockets; [`super::transport`] moves the datagrams.
//!
//! Size: the gossip engine fills a message up to the largest UDP payload (65,507 bytes), so a
//! sealed message may need two datagrams. Each carries a message id, its index and the count
//! (at most [`MAX_PARTS`]), and its own tag; halves wait in a small bounded buffer
//! ([`PENDING_LIMIT`] messages, [`PENDING_TTL`]) until their other half arrives. A message is
//! never larger than [`MAX_MESSAGE`].
//!
//! Replay: a recorded datagram can be sent again by someone on the path. The gossip engine
//! ignores state it already has (every value carries its owner's version), so a replay changes
//! nothing; what the tag prevents is a stranger or a peer of another cluster writing state.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use aws_lc_rs::hmac;
use tokio::time::Instant;

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;
/// Magic bytes at the start of every datagram (format version 1).
const MAGIC: &[u8; 4] = b"TCS1";
/// Tag length (HMAC-SHA256).
const TAG_LEN: usize = 32;
/// magic, message id (8), part index (1), part count (1), tag.
pub const HEADER_LEN: usize = 4 + 8 + 1 + 1 + TAG_LEN;
/// The most datagrams one message is cut into.
pub const MAX_PARTS: usize = 2;
/// The largest message: what the gossip engine itself sends at most.
pub const MAX_MESSAGE: usize = MAX_DATAGRAM;
/// How many incomplete messages wait for their other part at most (the oldest is dropped).
pub const PENDING_LIMIT: usize = 32;
/// How long an incomplete message waits for its other part.
pub const PENDING_TTL: Duration = Duration::from_secs(5);

/// Why a datagram was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Too short, wrong magic, or an impossible part index or count.
    #[error("not a tocsin cluster datagram (bad framing)")]
    Malformed,
    /// The tag does not verify: another key or label, or tampered.
    #[error("authentication failed: the peer uses another --cluster.key-file or --cluster.label")]
    BadTag,
    /// A message that would exceed [`MAX_MESSAGE`].
    #[error("message larger than {MAX_MESSAGE} bytes")]
    TooLarge,
}

/// Seals outgoing messages and opens incoming datagrams with one shared key.
pub struct Sealer {
    /// HMAC-SHA256 key (the key file's bytes).
    key: hmac::Key,
    /// `--cluster.label`, mixed into every tag so that clusters with one key stay apart.
    label: Vec<u8>,
    /// The next message id.
    next_id: u64,
    /// Messages whose other part has not arrived yet, oldest first.
    pending: VecDeque<Pending>,
}

/// The first part of a two-part message, waiting for the second.
struct Pending {
    /// Who sent it.
    from: SocketAddr,
    /// The message id.
    id: u64,
    /// The part that arrived (index 0 or 1) and its bytes.
    part: (u8, Vec<u8>),
    /// When it arrived.
    at: Instant,
}

impl Sealer {
    /// A sealer with the shared `key` and the cluster `label`; `first_id` starts the message
    /// ids (a random value, so a restarted peer does not reuse its previous ids).
    pub fn new(key: &[u8], label: &str, first_id: u64) -> Self {
        Sealer {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            label: label.as_bytes().to_vec(),
            next_id: first_id,
            pending: VecDeque::new(),
        }
    }

    fn tag(&self, header: &[u8], body: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&(self.label.len() as u32).to_be_bytes());
        ctx.update(&self.label);
        ctx.update(header);
        ctx.update(body);
        ctx.sign()
    }

    /// Cuts `message` into sealed datagrams (one, or two past one datagram's room).
    pub fn seal(&mut self, message: &[u8]) -> Result<Vec<Vec<u8>>, Refused> {
        if message.len() > MAX_MESSAGE {
            return Err(Refused::TooLarge);
        }
        let room = MAX_DATAGRAM - HEADER_LEN;
        let chunks: Vec<&[u8]> = if message.is_empty() {
            vec![&[][..]]
        } else {
            message.chunks(room).collect()
        };
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let count = chunks.len() as u8;
        Ok(chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut header = Vec::with_capacity(HEADER_LEN + chunk.len());
                header.extend_from_slice(MAGIC);
                header.extend_from_slice(&id.to_be_bytes());
                header.push(i as u8);
                header.push(count);
                let tag = self.tag(&header, chunk);
                header.extend_from_slice(tag.as_ref());
                header.extend_from_slice(chunk);
                header
            })
            .collect())
    }

    /// Opens one datagram from `from`: the whole message once every part arrived, `None` while
    /// a part is still missing, or why the datagram was refused.
    pub fn open(
        &mut self,
        from: SocketAddr,
        datagram: &[u8],
        now: Instant,
    ) -> Result<Option<Vec<u8>>, Refused> {
        if datagram.len() < HEADER_LEN || &datagram[..4] != MAGIC {
            return Err(Refused::Malformed);
        }
        let (header, rest) = datagram.split_at(HEADER_LEN - TAG_LEN);
        let (tag, body) = rest.split_at(TAG_LEN);
        let expected = self.tag(header, body);
        // Constant-time comparison.
        if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_ref(), tag).is_err() {
            return Err(Refused::BadTag);
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&header[4..12]);
        let id = u64::from_be_bytes(id);
        let (index, count) = (header[12], header[13]);
        if count == 0 || count as usize > MAX_PARTS || index >= count {
            return Err(Refused::Malformed);
        }
        if count == 1 {
            return Ok(Some(body.to_vec()));
        }
        self.pending
            .retain(|p| now.duration_since(p.at) < PENDING_TTL);
        if let Some(pos) = self
            .pending
            .iter()
            .position(|p| p.from == from && p.id == id && p.part.0 != index)
        {
            let p = self.pending.remove(pos).unwrap_or_else(|| unreachable!());
            let (first, second) = if p.part.0 == 0 {
                (p.part.1, body.to_vec())
            } else {
                (body.to_vec(), p.part.1)
            };
            if first.len() + second.len() > MAX_MESSAGE {
                return Err(Refused::TooLarge);
            }
            let mut whole = first;
            whole.extend_from_slice(&second);
            return Ok(Some(whole));
        }
        if self.pending.len() >= PENDING_LIMIT {
            self.pending.pop_front();
        }
        self.pending.push_back(Pending {
            from,
            id,
            part: (index, body.to_vec()),
            at: now,
        });
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:9094".parse().unwrap()
    }

    fn open_all(s: &mut Sealer, parts: &[Vec<u8>]) -> Result<Option<Vec<u8>>, Refused> {
        let mut out = None;
        for p in parts {
            out = s.open(addr(), p, Instant::now())?;
        }
        Ok(out)
    }

    #[test]
    fn same_key_opens_other_key_or_label_is_refused() {
        let mut a = Sealer::new(b"secret", "", 1);
        let mut b = Sealer::new(b"secret", "", 99);
        let parts = a.seal(b"hello").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(
            open_all(&mut b, &parts).unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        let mut other = Sealer::new(b"another secret", "", 1);
        assert_eq!(open_all(&mut other, &parts), Err(Refused::BadTag));
        let mut labelled = Sealer::new(b"secret", "eu", 1);
        assert_eq!(open_all(&mut labelled, &parts), Err(Refused::BadTag));
    }

    #[test]
    fn tampering_and_junk_are_refused() {
        let mut a = Sealer::new(b"k", "", 1);
        let mut parts = a.seal(b"payload").unwrap();
        let last = parts[0].len() - 1;
        parts[0][last] ^= 1;
        assert_eq!(open_all(&mut a, &parts), Err(Refused::BadTag));
        assert_eq!(
            a.open(addr(), b"junk", Instant::now()),
            Err(Refused::Malformed)
        );
        // A stranger's valid-looking framing with a zero tag.
        let mut forged = b"TCS1".to_vec();
        forged.extend_from_slice(&[0; 10 + TAG_LEN]);
        forged.extend_from_slice(b"x");
        assert_eq!(
            a.open(addr(), &forged, Instant::now()),
            Err(Refused::BadTag)
        );
    }

    #[test]
    fn a_full_size_message_takes_two_datagrams_in_either_order() {
        let mut a = Sealer::new(b"k", "l", 7);
        let big: Vec<u8> = (0..MAX_MESSAGE).map(|i| i as u8).collect();
        let mut parts = a.seal(&big).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() <= MAX_DATAGRAM));
        parts.reverse();
        let mut b = Sealer::new(b"k", "l", 0);
        assert_eq!(b.open(addr(), &parts[0], Instant::now()), Ok(None));
        assert_eq!(b.open(addr(), &parts[1], Instant::now()), Ok(Some(big)));
        assert!(a.seal(&vec![0; MAX_MESSAGE + 1]).is_err());
    }

    #[test]
    fn incomplete_messages_are_bounded() {
        let mut a = Sealer::new(b"k", "", 0);
        let mut b = Sealer::new(b"k", "", 0);
        let big = vec![1u8; MAX_MESSAGE];
        for _ in 0..(PENDING_LIMIT * 2) {
            let parts = a.seal(&big).unwrap();
            assert_eq!(b.open(addr(), &parts[0], Instant::now()), Ok(None));
        }
        assert_eq!(b.pending.len(), PENDING_LIMIT);
    }

    proptest! {
        /// Whatever is sealed opens to the same bytes.
        #[test]
        fn round_trip(msg in prop::collection::vec(any::<u8>(), 0..3000), key in "[a-z]{1,20}") {
            let mut a = Sealer::new(key.as_bytes(), "c", 5);
            let mut b = Sealer::new(key.as_bytes(), "c", 0);
            let parts = a.seal(&msg).unwrap();
            prop_assert_eq!(open_all(&mut b, &parts).unwrap(), Some(msg));
        }

        /// Random bytes never open (and never panic).
        #[test]
        fn junk_never_opens(junk in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut b = Sealer::new(b"k", "", 0);
            prop_assert!(b.open(addr(), &junk, Instant::now()).is_err());
        }
    }
}
