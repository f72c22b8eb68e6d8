//! E-mail delivery of outbox messages over SMTP (`--smtp-url`), with the
//! server's public address (`--public-url`) in front of their links. Each
//! server sends the messages it claims, so several servers never send one
//! twice; a failed message is tried again later, five times at most.

use anyhow::{Context, Result};
use kehu_domain::time::Timestamp;
use kehu_store::{outbox, Db};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
}

/// What one round of sending did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub failed: usize,
}

impl Mailer {
    /// `smtp_url` as lettre reads it: `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host`, or `smtp://127.0.0.1:2525` for a local relay.
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .with_context(|| {
                "reading --smtp-url (smtp://user:password@host:port, smtps://...)".to_string()
            })?
            .build();
        let from: Mailbox = from
            .parse()
            .with_context(|| format!("--mail-from {from:?} is not an e-mail address"))?;
        let public_url = public_url.trim_end_matches('/').to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            anyhow::bail!(
                "--public-url must start with http:// or https:// (the address customers open)"
            );
        }
        Ok(Mailer {
            transport,
            from,
            public_url,
        })
    }

    /// Sends the e-mail messages waiting now; returns the counts.
    pub async fn send_pending(&self, db: &Db, worker: &str) -> Result<Round> {
        let mut round = Round::default();
        for m in outbox::claim(db, "email", worker, Timestamp::now(), 50).await? {
            match self.send(&m).await {
                Ok(()) => {
                    outbox::delivered(db, &m.id, Timestamp::now()).await?;
                    round.sent += 1;
                }
                Err(e) => {
                    tracing::warn!(message = %m.id, error = %e, "sending an e-mail failed");
                    outbox::failed(db, &m.id, &e.to_string()).await?;
                    round.failed += 1;
                }
            }
        }
        Ok(round)
    }

    async fn send(&self, m: &outbox::Message) -> Result<()> {
        let to: Mailbox = m
            .recipient
            .as_deref()
            .unwrap_or("")
            .parse()
            .context("the recipient is not an e-mail address")?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&m.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(
                Body::new_with_encoding(m.text(&self.public_url), ContentTransferEncoding::Base64)
                    .map_err(|_| anyhow::anyhow!("the message cannot be encoded"))?,
            )?;
        self.transport.send(email).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kehu_store::testing::{self, Kind};
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// A minimal SMTP server on loopback that keeps what it is sent, or
    /// refuses every recipient.
    async fn smtp_sink(refuse: bool) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(vec![]));
        let kept = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(d) = data.as_mut() {
                            if line == "." {
                                kept.lock().unwrap().push(std::mem::take(d));
                                data = None;
                                w.write_all(b"250 queued\r\n").await.unwrap();
                            } else {
                                d.push_str(&line);
                                d.push('\n');
                            }
                            continue;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let answer: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "RCPT" if refuse => b"550 no such user\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                w.write_all(b"221 bye\r\n").await.unwrap();
                                return;
                            }
                            _ => b"250 ok\r\n",
                        };
                        w.write_all(answer).await.unwrap();
                    }
                });
            }
        });
        (port, got)
    }

    async fn survey_waiting(kind: Kind) -> (Db, String) {
        let db = testing::fresh(kind).await.unwrap();
        let agent = testing::user(&db, "li", "agent", "A").await.principal();
        let fields = kehu_domain::customer::CustomerInput {
            kind: "person".into(),
            name: "王芳".into(),
            email: "wangfang@example.com".into(),
            owner_id: agent.user_id.to_string(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        let c = kehu_store::customers::create(
            &db,
            Some(&agent),
            kehu_store::customers::CustomerWrite {
                fields,
                custom: Default::default(),
                tags: vec![],
                consents: Default::default(),
            },
        )
        .await
        .unwrap();
        let draft = kehu_domain::ticket::TicketDraft {
            subject: "发票开错".into(),
            description: "抬头错了".into(),
            purpose: "criticism".into(),
            severity: "low".into(),
            channel: "email".into(),
            ..Default::default()
        }
        .check()
        .unwrap();
        let clock = kehu_store::tickets::Clock::wall(chrono_tz::Asia::Shanghai);
        let t = kehu_store::tickets::create(&db, &agent, &c.id, &draft, None, &clock)
            .await
            .unwrap();
        let token = kehu_store::surveys::send_for_ticket(&db, &agent, &t.id, Timestamp::now())
            .await
            .unwrap();
        (db, token)
    }

    kehu_store::both!(
        survey_links_are_mailed_once_with_the_public_address,
        |kind| async move {
            let (db, token) = survey_waiting(kind).await;
            let (port, got) = smtp_sink(false).await;
            let url = format!("smtp://127.0.0.1:{port}");
            let a = Mailer::new(
                &url,
                "客服中心 <service@example.com>",
                "https://crm.example.com/",
            )
            .unwrap();
            let b = Mailer::new(&url, "service@example.com", "https://crm.example.com").unwrap();
            // Two servers at once: one e-mail.
            let (ra, rb) = tokio::join!(a.send_pending(&db, "s1"), b.send_pending(&db, "s2"));
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert_eq!(ra.sent + rb.sent, 1);
            assert_eq!(
                a.send_pending(&db, "s1").await.unwrap(),
                Round::default(),
                "nothing left"
            );
            let mails = got.lock().unwrap().clone();
            assert_eq!(mails.len(), 1);
            assert!(mails[0].contains("wangfang@example.com"));
            // The body is base64 after the blank line that ends the headers.
            let (_, body) = mails[0].split_once("\n\n").expect("headers and body");
            use base64::Engine;
            let text = base64::engine::general_purpose::STANDARD
                .decode(body.split_whitespace().collect::<String>())
                .map(|b| String::from_utf8(b).unwrap())
                .expect("a base64 body");
            assert!(
                text.contains(&format!("https://crm.example.com/survey/{token}")),
                "{text}"
            );
            assert!(text.contains("满意度") || text.contains("评价"), "{text}");
        }
    );

    kehu_store::both!(
        a_refused_message_is_kept_and_tried_again_at_most_five_times,
        |kind| async move {
            let (db, _) = survey_waiting(kind).await;
            let (port, got) = smtp_sink(true).await;
            let m = Mailer::new(
                &format!("smtp://127.0.0.1:{port}"),
                "service@example.com",
                "https://crm.example.com",
            )
            .unwrap();
            for _ in 0..7 {
                m.send_pending(&db, "s1").await.unwrap();
            }
            assert!(got.lock().unwrap().is_empty());
            let (attempts, sent): (i64, Option<i64>) = db
                .conn()
                .fetch_one(kehu_store::Query::new(
                    "SELECT attempts, sent_at FROM outbox",
                ))
                .await
                .unwrap();
            assert_eq!((attempts, sent), (outbox::MAX_ATTEMPTS, None));
        }
    );

    #[test]
    fn settings_are_checked() {
        assert!(Mailer::new("ftp://x", "a@b.cn", "https://x").is_err());
        assert!(Mailer::new("smtp://127.0.0.1:25", "not an address", "https://x").is_err());
        assert!(Mailer::new("smtp://127.0.0.1:25", "a@b.cn", "crm.example.com").is_err());
    }
}
