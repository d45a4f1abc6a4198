//! The closed sets of a webhook's TEXT columns, and its list's sort keys.

use crate::text_enum::text_enum;

pub use crate::health::WebhookState;

text_enum! {
    /// Body encoding chosen per webhook.
    Format {
        /// `application/x-www-form-urlencoded`, HrFlow's classic format.
        Form = "form",
        /// `application/json`.
        Json = "json",
    }
}

text_enum! {
    /// How a webhook's lane sets its limit of requests in flight.
    Concurrency {
        /// Follows the receiver, up to `max_in_flight`.
        Adaptive = "adaptive",
        /// Always `max_in_flight`.
        Fixed = "fixed",
    }
}

text_enum! {
    /// Sort keys the list accepts.
    WebhookSort {
        Name = "name",
        Url = "url",
        LastTriggeredAt = "last_triggered_at",
        State = "state",
        CreatedAt = "created_at",
    }
}
