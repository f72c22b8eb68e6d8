//! A macro for the small closed vocabularies of the domain (roles, sources,
//! interaction kinds...): each value has a stable code used in storage and
//! the API, and a label in each language.

/// Defines an enum whose values have a stable code and zh-CN/English labels.
#[macro_export]
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $zh:literal, $en:literal;)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $code)] $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)* }
            }

            pub fn label(self, lang: $crate::Lang) -> &'static str {
                match self { $($name::$variant => lang.pick($zh, $en),)* }
            }

            /// Parses a code; the Chinese label is accepted too.
            pub fn parse(s: &str) -> Result<$name, $crate::Problem> {
                let s = s.trim();
                $(if s.eq_ignore_ascii_case($code) || s == $zh { return Ok($name::$variant); })*
                Err($crate::Problem::InvalidChoice {
                    allowed: Self::ALL.iter().map(|v| v.code().to_string()).collect(),
                })
            }

            pub fn codes() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.code()).collect()
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::Problem;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::Problem;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
