//! Identifiers. Every id that leaves the server is a UUIDv7: ordered by
//! creation time (good for index locality) with 74 random bits, so ids cannot
//! be guessed or enumerated.

use serde::{Deserialize, Serialize};

/// A new random, time-ordered id in its canonical text form.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(String);

        impl $name {
            pub fn new() -> Self {
                Self(new_id())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                uuid::Uuid::parse_str(s)
                    .map(|u| Self(u.hyphenated().to_string()))
                    .map_err(|_| format!("not a valid id: {s:?}"))
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

id_type!(
    CustomerId,
    ContactId,
    InteractionId,
    UserId,
    TeamId,
    TagId,
    FieldId,
    TokenId,
    AuditId,
    OrderId,
    TicketId,
    SurveyId,
    TaskId,
    ProductId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_parse_back() {
        let a = CustomerId::new();
        let b = CustomerId::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().parse::<CustomerId>().unwrap(), a);
        assert!("1".parse::<CustomerId>().is_err());
        assert!("../etc/passwd".parse::<CustomerId>().is_err());
        // Upper-case input is accepted and stored in canonical form.
        let upper = a.as_str().to_uppercase();
        assert_eq!(upper.parse::<CustomerId>().unwrap(), a);
    }
}
