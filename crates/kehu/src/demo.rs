//! Realistic Chinese demo data: a small sales organisation (an owner, an
//! admin, two sales teams with managers and agents, finance, a read-only
//! auditor) and customers with compound surnames, 11-digit mobiles,
//! cities, organisations with contacts, tags and a history of interactions.

use anyhow::Result;
use chrono::NaiveDate;
use kehu_domain::customer::{
    ContactFields, ContactRole, CustomerFields, CustomerKind, GenderCode, Grade, InteractionKind,
    Source,
};
use kehu_domain::ids::{CustomerId, TeamId, UserId};
use kehu_domain::mobile::Mobile;
use kehu_domain::name::pinyin_keys;
use kehu_domain::time::Timestamp;
use kehu_store::audit::Actor;
use kehu_store::auth::{self, NewUser};
use kehu_store::bulk::{self, NewCustomer, NewInteraction};
use kehu_store::Db;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

pub const DEMO_PASSWORD: &str = "kehu-demo-2026";

/// (login, role, team, display name)
const USERS: &[(&str, &str, &str, &str)] = &[
    ("boss", "owner", "", "王建国"),
    ("admin", "admin", "", "系统管理员"),
    ("manager1", "manager", "销售一部", "赵敏"),
    ("agent1", "agent", "销售一部", "李娜"),
    ("agent2", "agent", "销售一部", "欧阳明"),
    ("manager2", "manager", "销售二部", "孙立"),
    ("agent3", "agent", "销售二部", "周杰"),
    ("agent4", "agent", "销售二部", "司马婷"),
    ("finance", "finance", "", "钱会计"),
    ("viewer", "read_only", "", "审计员"),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈",
];
const COMPOUND: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "慕容", "司徒", "夏侯", "令狐",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "文", "华", "建华", "晓燕", "志强", "婷", "雪", "琳",
    "浩", "宇", "欣", "子涵", "梓轩", "一鸣", "佳怡", "思远", "雨桐", "俊杰",
];
const CITIES: &[&str] = &[
    "北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "苏州", "重庆", "天津",
    "长沙", "郑州", "青岛", "厦门", "宁波", "合肥",
];
const DISTRICTS: &[&str] = &[
    "中山路",
    "人民路",
    "解放路",
    "建设路",
    "和平街",
    "文化路",
    "科技园",
    "新华路",
];
const BRANDS: &[&str] = &[
    "恒达",
    "鑫源",
    "华盛",
    "金桥",
    "瑞丰",
    "天成",
    "宏图",
    "博远",
    "嘉禾",
    "新锐",
    "永安",
    "东方红",
];
const TRADES: &[&str] = &[
    "贸易",
    "科技",
    "建材",
    "餐饮管理",
    "医疗器械",
    "电子",
    "物流",
    "服饰",
    "文化传媒",
    "家居",
];
const POSITIONS: &[&str] = &[
    "总经理",
    "采购经理",
    "财务总监",
    "行政主管",
    "技术负责人",
    "前台",
];
const TAGS: &[&str] = &[
    "VIP",
    "老客户",
    "价格敏感",
    "需回访",
    "转介绍达人",
    "企业采购",
    "潜在客户",
    "投诉过",
];
const MAIL: &[&str] = &["qq.com", "163.com", "126.com", "sina.com", "outlook.com"];
const NOTES: &[(InteractionKind, &str)] = &[
    (
        InteractionKind::Call,
        "电话回访：客户对上次的服务表示满意，询问新品上市时间。",
    ),
    (
        InteractionKind::Call,
        "电话跟进报价，客户希望再优惠 5%，已记录待经理审批。",
    ),
    (
        InteractionKind::Visit,
        "上门拜访，带去新品样品，客户试用后反馈良好。",
    ),
    (
        InteractionKind::Visit,
        "拜访客户办公室，了解明年采购计划，预计二季度下单。",
    ),
    (
        InteractionKind::Wechat,
        "微信发送节日祝福及新品资料，客户已读并回复感谢。",
    ),
    (InteractionKind::Wechat, "客户微信咨询保修政策，已解答。"),
    (
        InteractionKind::Sms,
        "短信提醒：您购买的产品保修即将到期，欢迎到店免费检测。",
    ),
    (InteractionKind::Email, "发送合同续签邮件，附报价单。"),
    (
        InteractionKind::Note,
        "客户生日在下月，准备寄送贺卡和小礼品。",
    ),
    (
        InteractionKind::Note,
        "客户反映送货延迟，已协调物流部门，承诺周五前回复。",
    ),
];

fn person_name(rng: &mut StdRng) -> String {
    let surname = if rng.random_bool(0.06) {
        *COMPOUND.choose(rng).unwrap()
    } else {
        *SURNAMES.choose(rng).unwrap()
    };
    let given = *GIVEN.choose(rng).unwrap();
    let given = if given.chars().count() == 1 && rng.random_bool(0.4) {
        format!(
            "{given}{}",
            GIVEN.choose(rng).unwrap().chars().next().unwrap()
        )
    } else {
        given.to_string()
    };
    format!("{surname}{given}")
}

fn mobile(rng: &mut StdRng) -> Mobile {
    const PREFIXES: &[&str] = &[
        "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
        "177", "186", "187", "188", "189", "199",
    ];
    let s = format!(
        "{}{:08}",
        PREFIXES.choose(rng).unwrap(),
        rng.random_range(0..100_000_000u32)
    );
    Mobile::parse(&s).expect("generated numbers are valid")
}

fn days_ago(rng: &mut StdRng, now: Timestamp, max_days: i64) -> Timestamp {
    Timestamp::from_millis(now.millis() - rng.random_range(0..max_days * 86_400_000)).unwrap_or(now)
}

struct Owner {
    id: UserId,
    team: Option<TeamId>,
}

/// Creates the demo users (when missing) and `n` customers.
pub async fn load(db: &Db, n: usize, seed: u64) -> Result<()> {
    let mut owners = Vec::new();
    for (login, role, team, name) in USERS {
        let u = match auth::user_by_login(db, login).await {
            Ok(u) => u,
            Err(_) => auth::create_user(
                db,
                None,
                &NewUser {
                    login: login.to_string(),
                    name: name.to_string(),
                    role: role.to_string(),
                    team: team.to_string(),
                    password: DEMO_PASSWORD.into(),
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating demo user {login}: {e}"))?,
        };
        if matches!(*role, "agent" | "manager") {
            owners.push(Owner {
                id: u.id.clone(),
                team: u.team_id.clone(),
            });
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Timestamp::now();
    let actor = Actor::system("demo");
    let mut earlier: Vec<CustomerId> = Vec::new();
    let mut made = 0;
    while made < n {
        let size = (n - made).min(500);
        let mut batch = Vec::with_capacity(size);
        for _ in 0..size {
            batch.push(customer(&mut rng, now, &owners, &earlier));
        }
        let ids = bulk::insert(db, &actor, "demo", &batch).await?;
        earlier.extend(ids);
        made += size;
    }
    // Two years of orders up to yesterday, worked tickets, and every
    // customer's scores with the models fitted on them, so that the
    // dashboard and the analytics page have something to show.
    let zone = chrono_tz::Asia::Shanghai;
    let yesterday = chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Days::new(1);
    add_orders(db, 6, seed, yesterday).await?;
    crate::demo_tickets::load(db, seed).await?;
    if let Err(e) =
        kehu_store::scores::recompute(db, &actor, yesterday, kehu_models::TimeUnit::Week, zone)
            .await
    {
        tracing::warn!(error = %e, "the demo's scores recompute failed");
    }
    Ok(())
}

/// The demo catalogue: (SKU, name, category, warranty months, price two
/// years ago in yuan, price from the raise a year later).
const PRODUCTS: &[(&str, &str, &str, u32, i64, i64)] = &[
    ("FLT-01", "前置滤芯套装", "耗材", 6, 98, 108),
    ("SRV-INST", "上门安装服务", "服务", 0, 150, 180),
    ("SRV-EXT1", "延长保修一年", "服务", 12, 299, 299),
    ("AIR-A3", "空气净化器 A3", "家电", 12, 1_299, 1_399),
    ("WTR-R6", "净水器 RO-600", "家电", 24, 2_499, 2_699),
    ("VAC-S8", "扫地机器人 S8", "家电", 12, 2_999, 2_799),
    ("DSH-D12", "嵌入式洗碗机 D12", "家电", 24, 4_599, 4_899),
    ("SFT-S1", "中央软水机 S1", "家电", 36, 8_800, 9_600),
];

/// A catalogue product with its two prices (in fen) and when the second
/// began.
struct Item {
    id: kehu_domain::ids::ProductId,
    name: &'static str,
    warranty_months: u32,
    before_fen: i64,
    after_fen: i64,
    raised: Timestamp,
}

impl Item {
    fn price_at(&self, at: Timestamp) -> i64 {
        if at < self.raised {
            self.before_fen
        } else {
            self.after_fen
        }
    }
}

/// Creates the demo catalogue (when missing) with its price history: the
/// first prices from `start`, the second a year later.
async fn catalogue(db: &Db, start: Timestamp) -> Result<Vec<Item>> {
    use kehu_domain::money::Fen;
    use kehu_domain::order::{NewPrice, ProductFields};
    use kehu_store::products;
    let admin = auth::user_by_login(db, "admin").await?.principal();
    let now = Timestamp::now();
    let existing = products::list(db, false, now).await?;
    let raised = start.plus_days(365);
    let mut items = Vec::new();
    for &(sku, name, category, warranty_months, before, after) in PRODUCTS {
        let (before_fen, after_fen) = (before * 100, after * 100);
        let id = match existing.iter().find(|p| p.sku == sku) {
            Some(p) => p.id.clone(),
            None => {
                let fields = ProductFields {
                    sku: sku.into(),
                    name: name.into(),
                    category: Some(category.into()),
                    warranty_months,
                    price: None,
                    active: true,
                };
                let p = products::create(db, &admin, &fields, now).await?;
                for (fen, from) in [(before_fen, start), (after_fen, raised)] {
                    let price = NewPrice {
                        price: Fen(fen),
                        valid_from: from,
                    };
                    products::set_price(db, &admin, &p.id, &price, now).await?;
                }
                p.id
            }
        };
        items.push(Item {
            id,
            name,
            warranty_months,
            before_fen,
            after_fen,
            raised,
        });
    }
    Ok(items)
}

/// Gives every customer orders of catalogue products from a BG/NBD-like
/// process (a purchase rate per customer, a chance to stop after each
/// purchase) over two years ending at `end`, `per` orders on average, one
/// in five discounted; skipped when there are orders.
pub async fn add_orders(db: &Db, per: usize, seed: u64, end: chrono::NaiveDate) -> Result<u64> {
    if db
        .conn()
        .scalar(kehu_store::Query::new("SELECT COUNT(*) FROM orders"))
        .await?
        > 0
    {
        return Ok(0);
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0dde);
    let actor = Actor::system("demo");
    let start = end - chrono::Days::new(730);
    let shanghai = chrono_tz::Asia::Shanghai;
    let first = kehu_domain::time::parse_local(&start.to_string(), shanghai)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let items = catalogue(db, first).await?;
    let mut after = String::new();
    let mut total = 0;
    loop {
        let ids: Vec<(String,)> = db
            .conn()
            .fetch_all(
                kehu_store::Query::new(
                    "SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT 1000",
                )
                .bind(&after),
            )
            .await?;
        let Some((last,)) = ids.last().cloned() else {
            break;
        };
        let mut orders = Vec::with_capacity(ids.len() * per);
        for (i,) in &ids {
            let id: kehu_domain::ids::CustomerId =
                i.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            // As the models assume: a purchase rate per customer (Gamma,
            // shape 2) and a chance to stop after each purchase (uniform
            // up to 2/per). What a customer buys follows a spending level
            // of its own (Gamma, shape 3), so that customers differ in
            // what they spend. Sums of exponentials draw the Gamma variates.
            let rate = per as f64 / 365.0 * gamma(&mut rng, 2) / 2.0;
            let stop = rng.random::<f64>() * 2.0 / per.max(1) as f64;
            let level = gamma(&mut rng, 3) / 3.0;
            let mut day = rng.random_range(0..365) as f64;
            while day < 730.0 {
                let date = start + chrono::Days::new(day as u64);
                let at = kehu_domain::time::parse_local(
                    &format!(
                        "{date} {:02}:{:02}",
                        rng.random_range(9..21),
                        rng.random_range(0..60)
                    ),
                    shanghai,
                )
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                let pick = (level * 2.5 + rng.random::<f64>() * 3.0) as usize;
                let item = &items[pick.min(items.len() - 1)];
                let quantity = if rng.random_bool(0.8) {
                    1
                } else {
                    rng.random_range(2..=3)
                };
                let unit = item.price_at(at);
                let list = unit * quantity;
                // One in five at 5-15% off, in whole yuan.
                let discount = if rng.random_bool(0.2) {
                    list * rng.random_range(5..=15) / 100 / 100 * 100
                } else {
                    0
                };
                orders.push((
                    id.clone(),
                    bulk::NewOrder {
                        at,
                        amount_fen: list - discount,
                        discount_fen: discount,
                        quantity,
                        line: Some(bulk::NewLine {
                            product: item.id.clone(),
                            description: item.name.into(),
                            unit_price_fen: unit,
                            warranty_until: kehu_domain::order::warranty_until(
                                at,
                                item.warranty_months,
                                shanghai,
                            ),
                        }),
                    },
                ));
                if rng.random::<f64>() < stop || rate <= 0.0 {
                    break;
                }
                day += -rng.random::<f64>().max(1e-12).ln() / rate;
            }
        }
        total += bulk::add_orders(db, &actor, &orders).await?;
        after = last;
    }
    Ok(total)
}

/// A Gamma(shape, 1) draw for a whole-number shape: a sum of exponentials.
fn gamma(rng: &mut StdRng, shape: u32) -> f64 {
    (0..shape)
        .map(|_| -rng.random::<f64>().max(1e-12).ln())
        .sum()
}

fn customer(
    rng: &mut StdRng,
    now: Timestamp,
    owners: &[Owner],
    earlier: &[CustomerId],
) -> NewCustomer {
    let org = rng.random_bool(0.3);
    let city = *CITIES.choose(rng).unwrap();
    let owner = owners.choose(rng).unwrap();
    let created_at = days_ago(rng, now, 730);
    let source = *Source::ALL.choose(rng).unwrap();
    let referred_by = if source == Source::Referral && !earlier.is_empty() {
        earlier.choose(rng).cloned()
    } else {
        None
    };
    let (name, gender, title, company, birthday) = if org {
        (
            format!(
                "{city}{}{}有限公司",
                BRANDS.choose(rng).unwrap(),
                TRADES.choose(rng).unwrap()
            ),
            None,
            None,
            None,
            None,
        )
    } else {
        let female = rng.random_bool(0.5);
        let title = if rng.random_bool(0.15) {
            Some("总".to_string())
        } else {
            None
        };
        let company = rng.random_bool(0.3).then(|| {
            format!(
                "{city}{}{}有限公司",
                BRANDS.choose(rng).unwrap(),
                TRADES.choose(rng).unwrap()
            )
        });
        let birthday = NaiveDate::from_ymd_opt(
            rng.random_range(1960..2003),
            rng.random_range(1..=12),
            rng.random_range(1..=28),
        );
        (
            person_name(rng),
            Some(if female {
                GenderCode::Female
            } else {
                GenderCode::Male
            }),
            title,
            company,
            birthday,
        )
    };
    let email = rng.random_bool(0.4).then(|| {
        format!(
            "{}{}@{}",
            pinyin_keys(&name).full.chars().take(12).collect::<String>(),
            rng.random_range(1..999),
            MAIL.choose(rng).unwrap()
        )
    });
    let fields = CustomerFields {
        kind: if org {
            CustomerKind::Organization
        } else {
            CustomerKind::Person
        },
        name,
        gender,
        title,
        mobile: Some(mobile(rng)),
        email,
        wechat: rng
            .random_bool(0.5)
            .then(|| format!("wxid_{:010x}", rng.random::<u64>() >> 24)),
        company,
        city: Some(city.to_string()),
        address: Some(format!(
            "{city}市{}{}号",
            DISTRICTS.choose(rng).unwrap(),
            rng.random_range(1..300)
        )),
        source: Some(source),
        referred_by,
        birthday,
        grade: if rng.random_bool(0.6) {
            Some(
                *[Grade::A, Grade::B, Grade::B, Grade::C, Grade::C, Grade::C]
                    .choose(rng)
                    .unwrap(),
            )
        } else {
            None
        },
        notes: None,
        owner_id: Some(owner.id.clone()),
    };
    let contacts: Vec<ContactFields> = if org {
        (0..rng.random_range(1..=4))
            .map(|i| ContactFields {
                name: person_name(rng),
                position: Some(POSITIONS[i % POSITIONS.len()].to_string()),
                role: [
                    ContactRole::DecisionMaker,
                    ContactRole::Influencer,
                    ContactRole::User,
                    ContactRole::Gatekeeper,
                ][i % 4],
                mobile: Some(mobile(rng)),
                email: None,
                wechat: None,
                birthday: None,
                preferences: (i == 0).then(|| "喜欢喝普洱茶，周末打高尔夫".to_string()),
                notes: None,
            })
            .collect()
    } else {
        vec![]
    };
    let interactions = (0..rng.random_range(0..=6))
        .map(|_| {
            let (kind, body) = *NOTES.choose(rng).unwrap();
            let since = (now.millis() - created_at.millis()).max(86_400_000) / 86_400_000;
            NewInteraction {
                kind,
                body: body.to_string(),
                at: days_ago(rng, now, since),
                user: Some(owner.id.clone()),
                contact: (!contacts.is_empty()).then(|| rng.random_range(0..contacts.len())),
            }
        })
        .collect();
    let tags = (0..rng.random_range(0..=2))
        .map(|_| TAGS.choose(rng).unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    NewCustomer {
        fields,
        owner: Some(owner.id.clone()),
        team: owner.team.clone(),
        tags,
        created_at,
        contacts,
        interactions,
    }
}

/// Generated customers as a file from another system would hold them (no
/// owner, no history), for benchmarks.
pub fn sample(seed: u64) -> impl Iterator<Item = NewCustomer> {
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Timestamp::now();
    let nobody = [Owner {
        id: UserId::new(),
        team: None,
    }];
    std::iter::repeat_with(move || customer(&mut rng, now, &nobody, &[]))
}

/// `n` interactions of the kinds and texts the demo uses, within the last
/// two years.
pub fn sample_interactions(rng: &mut StdRng, n: usize) -> Vec<NewInteraction> {
    let now = Timestamp::now();
    (0..n)
        .map(|_| {
            let (kind, body) = *NOTES.choose(rng).unwrap();
            NewInteraction {
                kind,
                body: body.to_string(),
                at: days_ago(rng, now, 730),
                user: None,
                contact: None,
            }
        })
        .collect()
}

/// Whether the demo users are in this database.
pub async fn present(db: &Db) -> bool {
    auth::user_by_login(db, USERS[1].0).await.is_ok()
}

pub fn print_logins() {
    println!("demo logins (password for all: {DEMO_PASSWORD}):");
    for (login, role, team, name) in USERS {
        let team = if team.is_empty() {
            String::new()
        } else {
            format!(", {team}")
        };
        println!("  {login:<9} {role}{team} ({name})");
    }
}
