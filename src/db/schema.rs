// @generated-compatible: mirrors `diesel print-schema` for migrations/sqlite.

diesel::table! {
    api_tokens (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        organization_id -> Text,
    }
}

diesel::table! {
    event_types (organization_id, name) {
        organization_id -> Text,
        name -> Text,
        entity -> Text,
        description -> Text,
        volume -> Text,
        example -> Text,
        builtin -> Bool,
        created_at -> Timestamp,
        schema -> Nullable<Text>,
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
        concurrency -> Text,
        organization_id -> Text,
        filter -> Nullable<Text>,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        event_type -> Text,
        payload -> Text,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamp,
        organization_id -> Text,
        traceparent -> Nullable<Text>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Text,
        event_id -> Text,
        webhook_id -> Text,
        status -> Text,
        attempts -> Integer,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        organization_id -> Text,
    }
}

diesel::table! {
    delivery_queue (delivery_id) {
        delivery_id -> Text,
        organization_id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
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
        request_truncated -> Bool,
        request_size -> Nullable<BigInt>,
        organization_id -> Text,
    }
}

diesel::table! {
    history_events (event_id, history_id) {
        event_id -> Text,
        history_id -> Text,
        organization_id -> Text,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        display_name -> Nullable<Text>,
        logo_url -> Nullable<Text>,
        accent_color -> Nullable<Text>,
    }
}

diesel::table! {
    portal_sessions (id) {
        id -> Text,
        organization_id -> Text,
        token_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_key -> Text,
        first_name -> Text,
        last_name -> Text,
        position -> Text,
        department -> Text,
        start_date -> Nullable<Date>,
        phone -> Text,
        manager_id -> Nullable<Text>,
        buddy_id -> Nullable<Text>,
        extra_fields -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        organization_id -> Text,
    }
}

diesel::table! {
    integrations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        manifest -> Text,
        triggers -> Text,
        oauth_token -> Nullable<Text>,
        next_sync_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        organization_id -> Text,
    }
}

diesel::table! {
    integration_config (integration_id, key) {
        integration_id -> Text,
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
        organization_id -> Text,
    }
}

diesel::table! {
    oauth_states (state) {
        state -> Text,
        integration_id -> Text,
        expires_at -> Timestamp,
        organization_id -> Text,
    }
}

diesel::table! {
    runs (id) {
        id -> Text,
        integration_id -> Text,
        user_id -> Nullable<Text>,
        kind -> Text,
        status -> Text,
        form -> Text,
        triggered_by -> Text,
        attempt -> Integer,
        next_run_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        error -> Nullable<Text>,
        result -> Nullable<Text>,
        rerun_of -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        organization_id -> Text,
        dry_run -> Bool,
        only_emails -> Nullable<Text>,
        resume -> Nullable<Text>,
    }
}

diesel::table! {
    run_steps (id) {
        id -> Text,
        run_id -> Text,
        position -> Integer,
        label -> Text,
        url -> Text,
        method -> Text,
        request_headers -> Text,
        request_body -> Text,
        status -> Nullable<Integer>,
        response_body -> Text,
        response_truncated -> Bool,
        duration_ms -> BigInt,
        error -> Nullable<Text>,
        created_at -> Timestamp,
        organization_id -> Text,
    }
}

// Overview statistics and retention (issue #16).
diesel::table! {
    delivery_minutes (organization_id, minute) {
        organization_id -> Text,
        minute -> Timestamp,
        succeeded -> BigInt,
        failed -> BigInt,
    }
}

diesel::table! {
    retention_totals (organization_id) {
        organization_id -> Text,
        history -> BigInt,
        deliveries -> BigInt,
        events -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(deliveries -> events (event_id));
diesel::joinable!(deliveries -> webhooks (webhook_id));
diesel::joinable!(delivery_queue -> deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    event_types,
    webhooks,
    events,
    deliveries,
    delivery_queue,
    history,
    history_events,
    organizations,
    portal_sessions,
    users,
    integrations,
    integration_config,
    oauth_states,
    runs,
    run_steps,
    delivery_minutes,
    retention_totals,
);
