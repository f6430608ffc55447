//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">` over the exact bytes sent, with the key taken from a secret
//! as the specification writes it (`whsec_` and base64) or as raw bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signing key of the webhooks.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The prefix of a secret written as the specification does.
const PREFIX: &str = "whsec_";

impl Secret {
    /// A key from a secret's text: for `whsec_…`, the bytes the base64 after the
    /// prefix decodes to; otherwise the text's own bytes.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let text = text.trim_end_matches(['\n', '\r']);
        let key = match text.strip_prefix(PREFIX) {
            Some(b64) => STANDARD
                .decode(b64)
                .map_err(|e| format!("a `{PREFIX}` secret must be base64 after the prefix: {e}"))?,
            None => text.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err("the secret is empty".into());
        }
        Ok(Secret { key })
    }

    /// The `webhook-signature` header value for `body` sent with `id` at `timestamp`
    /// (unix seconds).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mac = Hmac::<Sha256>::new_from_slice(&self.key);
        // HMAC takes keys of any length; the error cannot happen.
        let Ok(mut mac) = mac else {
            return String::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_specifications_example() {
        // The example of the Standard Webhooks specification.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_raw_secret_is_its_bytes() {
        let raw = Secret::parse("plain secret\n").unwrap();
        assert_eq!(raw.key, b"plain secret");
        assert!(Secret::parse("").is_err());
        assert!(Secret::parse("whsec_not base64!").is_err());
    }
}
