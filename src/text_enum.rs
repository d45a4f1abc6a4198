//! Closed sets of values stored in TEXT columns (statuses, triggers,
//! formats…), as Rust enums. The columns keep their words, so no data
//! migration; the enums map to them on both backends through `as_str` and
//! `FromStr`, and through diesel's `ToSql`/`FromSql` for `Text`.

/// Defines `pub enum $name { $variant = "word", … }` with `as_str`, `ALL`,
/// `FromStr` (the error names the accepted words), `Display`, serde as the
/// word, and diesel `Text` mapping on every backend.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash,
                 diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Every spelling, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The stored (and API) spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// The accepted spellings, for error messages: `a, b or c`.
            pub fn choices() -> String {
                match Self::WORDS.split_last() {
                    Some((last, [])) => last.to_string(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => String::new(),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} '{other}'; use {}",
                        stringify!($name), Self::choices()
                    )),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let word = String::from_sql(bytes)?;
                word.parse().map_err(Into::into)
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use crate::db::deliveries::DeliveryStatus;
    use crate::db::webhooks::WebhookSort;
    use crate::tokens::Scope;

    #[test]
    fn words_round_trip() {
        for s in DeliveryStatus::ALL {
            assert_eq!(s.as_str().parse::<DeliveryStatus>(), Ok(*s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(
            DeliveryStatus::WORDS,
            ["pending", "delivering", "succeeded", "failed", "dead"]
        );
        assert_eq!(
            serde_json::to_value(Scope::HistoryResend).unwrap(),
            "history:resend"
        );
    }

    #[test]
    fn unknown_words_are_refused_with_the_choices() {
        let e = "Succeeded".parse::<DeliveryStatus>().unwrap_err();
        assert!(
            e.contains("'Succeeded'") && e.ends_with("failed or dead"),
            "{e}"
        );
        assert_eq!(
            WebhookSort::choices(),
            "name, url, last_triggered_at, state or created_at"
        );
    }
}
