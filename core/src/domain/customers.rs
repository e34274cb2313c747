//! Customers as integrations write them (by the integrator's id), and the proof a page gives that its
//! visitor is a given customer.
//!
//! Identity works like this: the integrator's backend computes `hex(HMAC-SHA256(site identity secret,
//! customer id))` and puts it into the page with the customer id; the widget sends both when it connects;
//! the visitor gateway links the visitor to that customer only if the proof checks out. Without the secret
//! nobody can claim another customer's identity, and the secret never reaches a browser.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Longest external id, email or name an integration may store.
pub const MAX_FIELD_BYTES: usize = 256;
/// Longest label.
pub const MAX_LABEL_BYTES: usize = 64;
/// Most labels one customer may have.
pub const MAX_LABELS: usize = 100;

/// What an integration writes about a customer, keyed by its own id. Every field is written as given;
/// labels replace the stored ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFields {
    pub external_id: String,
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub labels: Vec<String>,
}

/// Why customer fields were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerFieldsError {
    #[error("the external id is empty")]
    EmptyExternalId,
    #[error("`{0}` is longer than the limit")]
    TooLong(&'static str),
    #[error("a label is empty or longer than {MAX_LABEL_BYTES} bytes")]
    BadLabel,
    #[error("more than {MAX_LABELS} labels")]
    TooManyLabels,
}

impl CustomerFields {
    /// Trims every field, drops empty optional ones, and sorts and de-duplicates labels, so the same
    /// customer written twice compares equal and the second write changes nothing.
    pub fn normalised(self) -> Result<Self, CustomerFieldsError> {
        let external_id = self.external_id.trim().to_string();
        if external_id.is_empty() {
            return Err(CustomerFieldsError::EmptyExternalId);
        }
        if external_id.len() > MAX_FIELD_BYTES {
            return Err(CustomerFieldsError::TooLong("external_id"));
        }
        let optional = |value: Option<String>, name: &'static str| {
            let value = value
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty());
            match value {
                Some(v) if v.len() > MAX_FIELD_BYTES => Err(CustomerFieldsError::TooLong(name)),
                other => Ok(other),
            }
        };
        let mut labels: Vec<String> = self.labels.iter().map(|l| l.trim().to_string()).collect();
        if labels
            .iter()
            .any(|l| l.is_empty() || l.len() > MAX_LABEL_BYTES || l.chars().any(char::is_control))
        {
            return Err(CustomerFieldsError::BadLabel);
        }
        labels.sort();
        labels.dedup();
        if labels.len() > MAX_LABELS {
            return Err(CustomerFieldsError::TooManyLabels);
        }
        Ok(Self {
            external_id,
            email: optional(self.email, "email")?,
            firstname: optional(self.firstname, "firstname")?,
            lastname: optional(self.lastname, "lastname")?,
            labels,
        })
    }
}

/// The key a site's pages prove customer identities with. The server must know it to check proofs, so
/// it is stored as is; it is shown once (on creation or rotation) and never logged: `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentitySecret(String);

const IDENTITY_SECRET_PREFIX: &str = "idsec_";

impl IdentitySecret {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(format!(
            "{IDENTITY_SECRET_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(key)
        ))
    }

    pub fn from_stored(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself: to store it, or show it the one time it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The proof for `customer_id`: lowercase hex of HMAC-SHA256 keyed with the whole secret text, the
    /// way integrators compute it (`hash_hmac('sha256', $id, $secret)`, `hmac.new(secret, id, sha256)`).
    pub fn proof(&self, customer_id: &str) -> String {
        hex::encode(self.mac(customer_id).finalize().into_bytes())
    }

    /// Whether `proof` is this secret's proof for `customer_id`, compared in constant time.
    pub fn verifies(&self, customer_id: &str, proof: &str) -> bool {
        let Ok(bytes) = hex::decode(proof.trim()) else {
            return false;
        };
        self.mac(customer_id).verify_slice(&bytes).is_ok()
    }

    fn mac(&self, customer_id: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_bytes())
            .expect("HMAC-SHA256 takes keys of any length");
        mac.update(customer_id.as_bytes());
        mac
    }
}

impl fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentitySecret(redacted)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn fields_are_trimmed_and_labels_sorted_once() {
        let fields = CustomerFields {
            external_id: " c-1 ".into(),
            email: Some(" ada@example.com ".into()),
            firstname: Some("  ".into()),
            lastname: None,
            labels: vec!["vip".into(), " beta".into(), "vip".into()],
        }
        .normalised()
        .unwrap();
        assert_eq!(fields.external_id, "c-1");
        assert_eq!(fields.email.as_deref(), Some("ada@example.com"));
        assert_eq!(fields.firstname, None, "blank is none");
        assert_eq!(fields.labels, ["beta", "vip"]);
    }

    #[test]
    fn bad_fields_are_refused() {
        let base = CustomerFields {
            external_id: "c".into(),
            email: None,
            firstname: None,
            lastname: None,
            labels: vec![],
        };
        let empty_id = CustomerFields {
            external_id: " ".into(),
            ..base.clone()
        };
        assert_eq!(
            empty_id.normalised(),
            Err(CustomerFieldsError::EmptyExternalId)
        );
        let bad_label = CustomerFields {
            labels: vec!["a\nb".into()],
            ..base.clone()
        };
        assert_eq!(bad_label.normalised(), Err(CustomerFieldsError::BadLabel));
        let long = CustomerFields {
            email: Some("x".repeat(MAX_FIELD_BYTES + 1)),
            ..base
        };
        assert_eq!(
            long.normalised(),
            Err(CustomerFieldsError::TooLong("email"))
        );
    }

    #[test]
    fn a_proof_verifies_only_for_its_customer_and_secret() {
        let secret = IdentitySecret::generate();
        let proof = secret.proof("customer-42");
        assert_eq!(proof.len(), 64);
        assert!(secret.verifies("customer-42", &proof));
        assert!(secret.verifies("customer-42", &proof.to_uppercase()));
        assert!(!secret.verifies("customer-43", &proof));
        assert!(!IdentitySecret::generate().verifies("customer-42", &proof));
        assert!(!secret.verifies("customer-42", "not hex"));
        assert!(format!("{secret:?}").contains("redacted"));
    }

    #[test]
    fn a_proof_is_plain_hmac_sha256_of_the_id_keyed_with_the_secret_text() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let secret = IdentitySecret::from_stored("Jefe".into());
        assert_eq!(
            secret.proof("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
