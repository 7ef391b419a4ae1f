//! Maps and sets keyed by request id, hashed with one multiplication instead of SipHash.
//!
//! Our own ids are sequential; the peer's are kept in sets bounded by a limit
//! (`Limits::max_peer_pending`, the buffers' slot cap), so a peer choosing colliding ids can slow
//! a lookup at most to a scan of that many.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

/// A map keyed by request id.
pub(crate) type IdMap<V> = HashMap<u32, V, BuildIdHasher>;

/// A set of request ids.
pub(crate) type IdSet = HashSet<u32, BuildIdHasher>;

/// Builds [`IdHasher`]s.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BuildIdHasher;

impl BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// The hasher of [`BuildIdHasher`].
#[derive(Debug)]
pub(crate) struct IdHasher(u64);

/// 2^64 divided by the golden ratio: multiplying by it spreads consecutive keys over the high
/// bits, which the hash table reads.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(SPREAD);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = (self.0 ^ u64::from(id)).wrapping_mul(SPREAD);
    }
}
