//! Demo service desk: the 2026 holiday calendar, agents reporting to their
//! managers, and about 240 complaints and requests over the last four
//! months worked the way the handbooks teach (steps, replies, promises kept
//! and broken, solutions, compensation, resolutions with preventive
//! actions, survey answers), each written through the store at its own
//! time, so queues, the ticket pages and the service insight have
//! something real to show.

use anyhow::Result;
use chrono::NaiveDate;
use kehu_domain::business_time::DayKind;
use kehu_domain::ids::CustomerId;
use kehu_domain::ticket::{Resolution, Status, TicketDraft, TicketKind};
use kehu_domain::time::Timestamp;
use kehu_store::audit::Actor;
use kehu_store::surveys::{self, AnswerDraft};
use kehu_store::tickets::handling::{self, CompensationDraft, EntryDraft};
use kehu_store::tickets::{self, Clock};
use kehu_store::{auth, calendar, Db, Query};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// The official 2026 holidays (休) and make-up working days (班).
pub fn holidays_2026() -> Vec<(NaiveDate, DayKind)> {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date");
    let mut out = vec![];
    for (from, to) in [
        ("2026-01-01", "2026-01-03"),
        ("2026-02-15", "2026-02-23"),
        ("2026-04-04", "2026-04-06"),
        ("2026-05-01", "2026-05-05"),
        ("2026-06-19", "2026-06-21"),
        ("2026-09-25", "2026-09-27"),
        ("2026-10-01", "2026-10-07"),
    ] {
        let mut x = d(from);
        while x <= d(to) {
            out.push((x, DayKind::Holiday));
            x = x.succ_opt().expect("a date");
        }
    }
    for w in [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ] {
        out.push((d(w), DayKind::Workday));
    }
    out
}

/// (category, product, subject, description, purpose)
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "产品质量",
        "滚筒洗衣机",
        "洗衣机漏水",
        "新买的洗衣机用了两周就漏水，地板都泡了，师傅上门一次还是漏水。",
        "accusation",
    ),
    (
        "产品质量",
        "空气净化器",
        "净化器噪音大",
        "夜间模式噪音还是很大，影响睡眠，希望能换一台。",
        "criticism",
    ),
    (
        "产品质量",
        "电饭煲",
        "电饭煲内胆掉涂层",
        "用了一个月内胆涂层脱落，担心吃了对身体不好。",
        "accusation",
    ),
    (
        "物流配送",
        "滚筒洗衣机",
        "送货延迟",
        "约好周六送货，等了一天没人来，也没有电话通知。",
        "criticism",
    ),
    (
        "物流配送",
        "电饭煲",
        "包装破损",
        "收到的包裹外箱破损，商品有划痕。",
        "criticism",
    ),
    (
        "安装维修",
        "空调",
        "安装师傅迟到",
        "安装师傅迟到两个小时，安装后也没有清理现场。",
        "criticism",
    ),
    (
        "安装维修",
        "空调",
        "空调不制冷",
        "维修后空调还是不制冷，已经第三次报修了。",
        "accusation",
    ),
    (
        "服务态度",
        "",
        "客服态度差",
        "打客服电话被转了三次，最后一位客服语气很不耐烦。",
        "criticism",
    ),
    (
        "服务态度",
        "",
        "门店店员态度冷淡",
        "在门店咨询时店员一直玩手机，爱答不理。",
        "criticism",
    ),
    (
        "价格收费",
        "空气净化器",
        "价格保护",
        "购买后一周就降价了两百元，希望能退差价。",
        "criticism",
    ),
    (
        "价格收费",
        "",
        "发票开错",
        "发票抬头开错了，需要重新开具。",
        "suggestion",
    ),
    (
        "咨询建议",
        "电饭煲",
        "希望增加预约功能",
        "产品很好用，如果能增加手机预约功能就更好了。",
        "suggestion",
    ),
    (
        "咨询建议",
        "滚筒洗衣机",
        "说明书看不懂",
        "说明书上的程序说明太简略，建议增加视频教程。",
        "suggestion",
    ),
];

const FIXES: &[(&str, &str)] = &[
    (
        "已安排上门更换新机，并当面测试无漏水",
        "安装验收增加通水测试环节，并反馈质量部门排查批次问题",
    ),
    ("已退还差价并致歉", "价格调整时主动通知近期购买的客户"),
    (
        "已补发新品，破损件上门取回",
        "与物流商约定易碎品加固包装并抽检",
    ),
    ("已重新开具发票并快递寄出", "开票前增加抬头核对步骤"),
    ("已向客户道歉，并安排专人回访", "客服话术培训，限制转接次数"),
];

pub async fn load(db: &Db, seed: u64) -> Result<()> {
    if db
        .conn()
        .scalar(Query::new("SELECT COUNT(*) FROM tickets"))
        .await?
        > 0
    {
        return Ok(());
    }
    let zone = chrono_tz::Asia::Shanghai;
    calendar::import(db, &Actor::system("demo"), &holidays_2026()).await?;
    // The agents report to their team's manager, the managers to the boss.
    let users = auth::users(db).await?;
    let boss = users
        .iter()
        .find(|u| u.login == "boss")
        .map(|u| u.id.clone());
    for u in &users {
        let manager = match u.login.as_str() {
            "agent1" | "agent2" => users
                .iter()
                .find(|m| m.login == "manager1")
                .map(|m| m.id.clone()),
            "agent3" | "agent4" => users
                .iter()
                .find(|m| m.login == "manager2")
                .map(|m| m.id.clone()),
            "manager1" | "manager2" => boss.clone(),
            _ => None,
        };
        if let Some(m) = manager {
            db.conn()
                .execute(
                    Query::new("UPDATE users SET manager_id = $1 WHERE id = $2")
                        .bind(&m)
                        .bind(&u.id),
                )
                .await?;
        }
    }
    let owners: Vec<(CustomerId, String)> = db
        .conn()
        .fetch_all::<(String, String)>(Query::new(
            "SELECT c.id, u.login FROM customers c JOIN users u ON u.id = c.owner_id \
             WHERE c.deleted_at IS NULL ORDER BY c.id LIMIT 600",
        ))
        .await?
        .into_iter()
        .filter_map(|(c, l)| Some((c.parse().ok()?, l)))
        .collect();
    if owners.is_empty() {
        return Ok(());
    }
    let principal = |login: &str| {
        users
            .iter()
            .find(|u| u.login == login)
            .map(|u| u.principal())
    };
    let mut rng = StdRng::seed_from_u64(seed ^ 0x71c);
    let now = Timestamp::now();
    let day_ms = 86_400_000i64;
    for i in 0..240 {
        let (customer, login) = owners.choose(&mut rng).expect("customers");
        let Some(agent) = principal(login) else {
            continue;
        };
        let (category, product, subject, description, purpose) =
            *CASES.choose(&mut rng).expect("cases");
        // Opened at a working-hours-ish moment of the last 120 days.
        let days_ago = rng.random_range(0..120i64);
        let hour_ms = (rng.random_range(1..14i64) * 3_600_000) + rng.random_range(0..3_600_000i64);
        let opened = Timestamp::from_millis(now.millis() - days_ago * day_ms - day_ms + hour_ms)
            .unwrap_or(now);
        if opened >= now {
            continue;
        }
        let at = |offset_ms: i64| {
            let t = Timestamp::from_millis(opened.millis() + offset_ms).unwrap_or(now);
            Clock::new(t.min(now), zone)
        };
        let severity = ["low", "normal", "normal", "high", "urgent"]
            .choose(&mut rng)
            .expect("severity");
        let channel = ["phone", "phone", "wechat", "email", "web", "visit"]
            .choose(&mut rng)
            .expect("channel");
        let draft = TicketDraft {
            subject: subject.into(),
            description: description.into(),
            purpose: purpose.into(),
            severity: severity.to_string(),
            channel: channel.to_string(),
            kind: if purpose == "suggestion" {
                "request".into()
            } else {
                "complaint".into()
            },
            category: category.into(),
            product: product.into(),
            department: String::new(),
        }
        .check()
        .map_err(|e| anyhow::anyhow!("demo ticket: {e:?}"))?;
        let t = tickets::create(db, &agent, customer, &draft, None, &at(0)).await?;
        // Recent tickets are still being worked.
        if days_ago < 3 && rng.random_bool(0.6) {
            if rng.random_bool(0.5) {
                let first = t.method.steps()[0];
                let e = EntryDraft {
                    kind: "step".into(),
                    step: first.code().into(),
                    body: "已安抚客户情绪，记录问题经过".into(),
                    ..Default::default()
                };
                handling::record(
                    db,
                    &agent,
                    &t.id,
                    &e,
                    &at(rng.random_range(600_000..7_200_000)),
                )
                .await?;
                let promise =
                    Timestamp::from_millis(now.millis() + rng.random_range(3_600_000..2 * day_ms))
                        .unwrap_or(now);
                handling::promise(
                    db,
                    &agent,
                    &t.id,
                    promise,
                    "查明原因后回复客户",
                    &at(7_300_000),
                )
                .await?;
            }
            continue;
        }
        // The first response: fast for most, late for some.
        let response_ms = if rng.random_bool(0.8) {
            rng.random_range(300_000..7_200_000)
        } else {
            rng.random_range(8 * 3_600_000..30 * 3_600_000)
        };
        for (k, step) in t.method.steps().iter().enumerate() {
            let e = EntryDraft {
                kind: "step".into(),
                step: step.code().into(),
                body: format!("{}：{}", step.label(kehu_domain::Lang::ZhCn), subject),
                ..Default::default()
            };
            handling::record(db, &agent, &t.id, &e, &at(response_ms + k as i64 * 600_000)).await?;
        }
        let mut when = response_ms + 3_600_000;
        if rng.random_bool(0.3) {
            // A promise: mostly kept, sometimes broken.
            let promise_in = rng.random_range(2 * 3_600_000..day_ms);
            let promised =
                Timestamp::from_millis(opened.millis() + when + promise_in).unwrap_or(now);
            handling::promise(db, &agent, &t.id, promised, "明天下班前给您答复", &at(when)).await?;
            let kept = rng.random_bool(0.75);
            when += if kept {
                promise_in - 1_800_000
            } else {
                promise_in + 7_200_000
            };
            let reply = EntryDraft {
                kind: "reply".into(),
                body: "您好，问题原因已查明，处理方案如下。".into(),
                ..Default::default()
            };
            handling::record(db, &agent, &t.id, &reply, &at(when)).await?;
        }
        if draft.kind == TicketKind::Complaint {
            handling::offer_solution(db, &agent, &t.id, "上门更换或维修", &at(when + 60_000))
                .await?;
            handling::offer_solution(db, &agent, &t.id, "退款并赠送代金券", &at(when + 120_000))
                .await?;
            let sols = handling::solutions(db, &agent, &t.id).await?;
            if let Some(s) = sols.choose(&mut rng) {
                handling::choose_solution(db, &agent, &t.id, &s.id, &at(when + 600_000)).await?;
            }
            if rng.random_bool(0.4) {
                let c = CompensationDraft {
                    kind: ["voucher", "gift", "refund", "repair"]
                        .choose(&mut rng)
                        .expect("kind")
                        .to_string(),
                    amount: format!("{}", [50, 100, 200, 300].choose(&mut rng).expect("amount")),
                    amount_fen: None,
                    note: String::new(),
                };
                handling::compensate(db, &agent, &t.id, &c, &at(when + 700_000)).await?;
            }
        }
        if draft.kind == TicketKind::Request || rng.random_bool(0.92) {
            let (fix, prevent) = *FIXES.choose(&mut rng).expect("fixes");
            let r = Resolution::check(draft.kind, fix, prevent)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let resolved_ms = when + rng.random_range(3_600_000..3 * day_ms);
            let done = handling::resolve(db, &agent, &t.id, &r, &at(resolved_ms)).await?;
            if done.status == Status::Resolved && rng.random_bool(0.7) {
                let answered = Timestamp::from_millis(opened.millis() + resolved_ms + day_ms)
                    .unwrap_or(now)
                    .min(now);
                let token =
                    surveys::send_for_ticket(db, &agent, &t.id, at(resolved_ms + 3_600_000).now)
                        .await?;
                let level: u8 = *[7u8, 7, 6, 6, 6, 5, 5, 4, 3, 2]
                    .choose(&mut rng)
                    .expect("level");
                let nps = (i64::from(level) + rng.random_range(2..5)).min(10);
                let comment = [
                    "处理及时，很满意",
                    "态度很好，但等待时间有点长",
                    "问题解决了，谢谢",
                    "送货还是太慢",
                    "",
                ]
                .choose(&mut rng)
                .expect("comment");
                let a = AnswerDraft {
                    satisfaction: level.to_string(),
                    nps: nps.to_string(),
                    comment: comment.to_string(),
                };
                surveys::answer(db, &token, &a, answered).await?;
            }
        }
        if i % 60 == 59 {
            tracing::info!(tickets = i + 1, "demo tickets");
        }
    }
    Ok(())
}
