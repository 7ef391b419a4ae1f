//! Fresh secrets: a plugin's per-launch token, the owner's credential.

/// A fresh secret: 32 random bytes, in hex.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}
