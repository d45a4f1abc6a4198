//! `post_execute_notification`: email through SMTP (`HOOKRELAY_SMTP_URL`)
//! and text messages through an SMS HTTP endpoint (`HOOKRELAY_SMS_URL`).

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

/// Where notifications go. Unconfigured channels fail with a message that
/// names the setting (the run's step log shows it).
#[derive(Clone, Default)]
pub struct Notifier {
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
    sms_url: Option<String>,
    sms_token: Option<String>,
    http: Option<reqwest::Client>,
    /// Emails and texts per organization and minute: a manifest looping
    /// over people must not turn hookrelay into a spam relay, or spend one
    /// tenant's share of the mail server on another's.
    rate: crate::publish::rate::OrgRate,
}

impl Notifier {
    /// Builds from settings; errors name the bad one.
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        sms_url: Option<&str>,
        sms_token: Option<&str>,
        http: reqwest::Client,
    ) -> Result<Notifier, String> {
        let smtp = smtp_url
            .filter(|u| !u.is_empty())
            .map(|u| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(u)
                    .map(|b| b.build())
                    .map_err(|e| format!("HOOKRELAY_SMTP_URL: {e}"))
            })
            .transpose()?;
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("HOOKRELAY_SMTP_FROM: '{from}' is not an address ({e})"))?;
        Ok(Notifier {
            smtp,
            from: Some(from),
            sms_url: sms_url.filter(|u| !u.is_empty()).map(String::from),
            sms_token: sms_token.filter(|t| !t.is_empty()).map(String::from),
            http: Some(http),
            rate: Default::default(),
        })
    }

    /// The same, sending at most `rate` per organization.
    pub fn limited(mut self, rate: crate::publish::rate::OrgRate) -> Notifier {
        self.rate = rate;
        self
    }

    /// Takes one message from organization `org`'s allowance, or says why
    /// it is not sent.
    pub fn admit(&self, org: &str) -> Result<(), String> {
        self.rate
            .admit(org, 1)
            .map_err(|e| format!("not sent: {e}"))
    }

    /// Sends a plain-text email to one recipient.
    pub async fn email(&self, to: &str, subject: &str, body: &str) -> Result<String, String> {
        let smtp = self.smtp.as_ref().ok_or(
            "email is not configured: set HOOKRELAY_SMTP_URL (e.g. smtp://mail.internal:25)",
        )?;
        let to: Mailbox = to
            .trim()
            .parse()
            .map_err(|e| format!("'{to}' is not an email address ({e})"))?;
        let from = self.from.clone().ok_or("HOOKRELAY_SMTP_FROM is not set")?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .body(body.to_string())
            .map_err(|e| format!("cannot build the email: {e}"))?;
        let response = smtp
            .send(message)
            .await
            .map_err(|e| format!("SMTP error: {e}"))?;
        Ok(response.message().collect::<Vec<_>>().join(" "))
    }

    /// POSTs `{"to", "message"}` to the SMS endpoint.
    pub async fn text(&self, to: &str, message: &str) -> Result<u16, String> {
        let url = self
            .sms_url
            .as_ref()
            .ok_or("text messages are not configured: set HOOKRELAY_SMS_URL")?;
        let http = self.http.as_ref().ok_or("no HTTP client")?;
        let mut req = http.post(url).json(&json!({"to": to, "message": message}));
        if let Some(t) = &self.sms_token {
            req = req.bearer_auth(t);
        }
        // Never the URL: HOOKRELAY_SMS_URL may carry a key, and the step log
        // is readable by every holder of `integrations:run`.
        let resp = req
            .send()
            .await
            .map_err(|e| format!("SMS endpoint: {}", crate::outbound::describe::describe(&e)))?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            Ok(status)
        } else {
            Err(format!("SMS endpoint answered HTTP {status}"))
        }
    }
}
