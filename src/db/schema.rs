// @generated-compatible: mirrors `diesel print-schema` for migrations/sqlite.

diesel::table! {
    api_tokens (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    event_types (name) {
        name -> Text,
        entity -> Text,
        description -> Text,
        volume -> Text,
        example -> Text,
        builtin -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        name -> Text,
        url -> Text,
        event_types -> Text,
        format -> Text,
        active -> Bool,
        verify_ssl -> Bool,
        signing -> Bool,
        max_events_per_request -> Integer,
        secret -> Text,
        state -> Text,
        disabled_reason -> Nullable<Text>,
        last_triggered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        retry_schedule -> Nullable<Text>,
        max_in_flight -> Integer,
        rate_limit_per_sec -> Nullable<Integer>,
        failing_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        signature_scheme -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        event_type -> Text,
        payload -> Text,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Text,
        event_id -> Text,
        webhook_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    history (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Nullable<Text>,
        event_type -> Text,
        event_ids -> Text,
        delivery_ids -> Text,
        url -> Text,
        request_headers -> Text,
        request_body -> Text,
        response_status -> Integer,
        response_headers -> Text,
        response_body -> Text,
        response_truncated -> Bool,
        duration_ms -> BigInt,
        error -> Nullable<Text>,
        attempt -> Integer,
        triggered_by -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    history_events (event_id, history_id) {
        event_id -> Text,
        history_id -> Text,
    }
}

diesel::joinable!(deliveries -> events (event_id));
diesel::joinable!(deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    event_types,
    webhooks,
    events,
    deliveries,
    history,
    history_events,
);
