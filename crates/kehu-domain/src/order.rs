//! Products and orders: what a product is (SKU, name, warranty, price in
//! yuan), and what makes an order with its lines valid. An order's lines
//! each count a product (or a described item) at a unit price, less a line
//! discount; the order may take a further discount off the sum of its lines.
//! The order's `amount` is what the customer paid, its `discount` every
//! discount given, so `amount + discount` is its value at list prices.
//! All sums use checked arithmetic; an overflow is a field error.

use crate::ids::ProductId;
use crate::money::{Fen, MAX_FEN};
use crate::text;
use crate::time::{parse_local, Timestamp};
use crate::{FieldErrors, Problem};
use chrono::TimeZone;

/// Limits of product and order texts, in characters.
pub const SKU_MAX: usize = 64;
pub const PRODUCT_NAME_MAX: usize = 200;
pub const CATEGORY_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 200;
pub const ORDER_NO_MAX: usize = 100;
pub const NOTES_MAX: usize = 2000;
/// The longest warranty: fifty years.
pub const MAX_WARRANTY_MONTHS: u32 = 600;
/// The most items one order line may count.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// A product as sent from a form or the API; texts as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    pub category: String,
    /// Whole months; blank means none.
    pub warranty_months: String,
    /// Yuan; blank means no price (set one later).
    pub price: String,
    pub active: bool,
}

impl Default for ProductInput {
    fn default() -> Self {
        ProductInput {
            sku: String::new(),
            name: String::new(),
            category: String::new(),
            warranty_months: String::new(),
            price: String::new(),
            active: true,
        }
    }
}

/// A product's own fields, parsed and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFields {
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub warranty_months: u32,
    /// A new current price, when one was given.
    pub price: Option<Fen>,
    pub active: bool,
}

/// Parses a SKU: trimmed, full-width characters folded, 1-64 characters,
/// no spaces inside.
pub fn sku(raw: &str) -> Result<String, Problem> {
    let s = text::required(&text::half_width(raw), SKU_MAX)?;
    if s.chars().any(char::is_whitespace) {
        return Err(Problem::Invalid {
            zh: "产品编号不能包含空格".into(),
            en: "must not contain spaces".into(),
        });
    }
    Ok(s)
}

/// Parses a warranty in whole months (blank: none), 0 to 600.
pub fn warranty_months(raw: &str) -> Result<u32, Problem> {
    let s = text::half_width(raw);
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    let n: u32 = s.parse().map_err(|_| Problem::InvalidNumber)?;
    if n > MAX_WARRANTY_MONTHS {
        return Err(Problem::Invalid {
            zh: format!("保修期应为 0 到 {MAX_WARRANTY_MONTHS} 个月"),
            en: format!("must be 0 to {MAX_WARRANTY_MONTHS} months"),
        });
    }
    Ok(n)
}

/// A price in yuan, not negative.
pub fn price(raw: &str) -> Result<Fen, Problem> {
    if raw.trim().is_empty() {
        return Err(Problem::Required);
    }
    Fen::parse_non_negative(raw)
}

/// An optional amount in yuan, not negative; blank is `None`.
fn optional_amount(raw: &str) -> Result<Option<Fen>, Problem> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        Fen::parse_non_negative(raw).map(Some)
    }
}

impl ProductInput {
    /// Checks every field, reporting each bad one.
    pub fn parse(&self) -> Result<ProductFields, FieldErrors> {
        let mut e = FieldErrors::new();
        let sku = e.take("sku", sku(&self.sku));
        let name = e.take("name", text::required(&self.name, PRODUCT_NAME_MAX));
        let category = e.take("category", text::optional(&self.category, CATEGORY_MAX));
        let warranty = e.take("warranty_months", warranty_months(&self.warranty_months));
        let price = e.take("price", optional_amount(&self.price));
        e.into_result()?;
        Ok(ProductFields {
            sku: sku.expect("checked"),
            name: name.expect("checked"),
            category: category.expect("checked"),
            warranty_months: warranty.expect("checked"),
            price: price.expect("checked"),
            active: self.active,
        })
    }
}

/// A new price as sent: yuan, and when it takes effect (blank: now).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceInput {
    pub price: String,
    pub valid_from: String,
}

/// A checked new price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPrice {
    pub price: Fen,
    pub valid_from: Timestamp,
}

impl PriceInput {
    /// `valid_from` is read in `zone` unless it carries an offset; it may
    /// lie in the future (a price announced in advance).
    pub fn check(&self, now: Timestamp, zone: chrono_tz::Tz) -> Result<NewPrice, FieldErrors> {
        let mut e = FieldErrors::new();
        let price = e.take("price", price(&self.price));
        let valid_from = if self.valid_from.trim().is_empty() {
            Some(now)
        } else {
            e.take("valid_from", parse_local(&self.valid_from, zone))
        };
        e.into_result()?;
        Ok(NewPrice {
            price: price.expect("checked"),
            valid_from: valid_from.expect("checked"),
        })
    }
}

/// What an order line needs to know of its product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRef {
    pub name: String,
    /// The price in force now, if the product has one.
    pub price: Option<Fen>,
    pub warranty_months: u32,
    pub active: bool,
}

/// A line of an order as sent; texts as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    /// A product's id, or blank for an item named by `description`.
    pub product_id: String,
    /// Blank with a product: the product's name.
    pub description: String,
    /// Blank means 1.
    pub quantity: String,
    /// Yuan; blank with a product: its current price.
    pub unit_price: String,
    /// Yuan off this line; blank means none.
    pub discount: String,
}

impl LineInput {
    /// A line with nothing filled in but perhaps its quantity (forms show
    /// spare rows); such lines are left out.
    pub fn is_blank(&self) -> bool {
        [
            &self.product_id,
            &self.description,
            &self.unit_price,
            &self.discount,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// An order as sent; texts as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderInput {
    /// The order's number in another system, if any.
    pub order_no: String,
    /// When it was ordered, in the business zone unless it carries an
    /// offset; blank means now. Not in the future.
    pub ordered_at: String,
    /// Yuan off the whole order (after line discounts); blank means none.
    pub discount: String,
    pub notes: String,
    pub lines: Vec<LineInput>,
}

/// A checked order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub product_id: Option<ProductId>,
    pub description: String,
    pub quantity: i64,
    pub unit_price: Fen,
    pub discount: Fen,
    /// `quantity × unit_price − discount`.
    pub amount: Fen,
    /// The end of the product's warranty, when it has one.
    pub warranty_until: Option<Timestamp>,
}

/// A checked order with its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub order_no: Option<String>,
    pub ordered_at: Timestamp,
    pub notes: Option<String>,
    pub lines: Vec<NewLine>,
    /// The discount on the whole order.
    pub order_discount: Fen,
    /// The sum of the lines' amounts (after their discounts).
    pub subtotal: Fen,
    /// Every discount given: the lines' and the order's.
    pub discount: Fen,
    /// What the customer paid: `subtotal − order_discount`.
    pub amount: Fen,
    /// Items over all lines.
    pub quantity: i64,
    /// The lines' descriptions, for lists (at most 200 characters).
    pub product: Option<String>,
}

impl NewOrder {
    /// The order's value at list prices: what was paid plus every discount.
    pub fn list_value(&self) -> Fen {
        Fen(self.amount.0 + self.discount.0)
    }
}

fn too_large() -> Problem {
    Problem::Invalid {
        zh: "金额过大".into(),
        en: "the amount is too large".into(),
    }
}

/// `a + b` within ±[`MAX_FEN`].
fn add(a: Fen, b: Fen) -> Option<Fen> {
    a.checked_add(b).filter(|s| s.0.abs() <= MAX_FEN)
}

/// The end of a warranty of `months` from `at`, counted in calendar months
/// in the business zone (31 January plus one month is the end of
/// February); `None` for no warranty.
pub fn warranty_until(at: Timestamp, months: u32, zone: chrono_tz::Tz) -> Option<Timestamp> {
    if months == 0 {
        return None;
    }
    let local = at.utc().with_timezone(&zone).naive_local();
    let end = local.checked_add_months(chrono::Months::new(months))?;
    zone.from_local_datetime(&end)
        .earliest()
        .map(|t| Timestamp::from(t.with_timezone(&chrono::Utc)))
        .or_else(|| {
            at.utc()
                .checked_add_months(chrono::Months::new(months))
                .map(Timestamp::from)
        })
}

/// Summarises lines for lists: their descriptions, joined, cut to 200
/// characters.
pub fn summary<'a>(descriptions: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let joined = descriptions.into_iter().collect::<Vec<_>>().join("、");
    if joined.is_empty() {
        return None;
    }
    if joined.chars().count() <= 200 {
        Some(joined)
    } else {
        Some(joined.chars().take(199).chain(['…']).collect())
    }
}

impl OrderInput {
    /// The ids of the products the lines name (those that parse), to look
    /// up before [`OrderInput::check`].
    pub fn product_ids(&self) -> Vec<ProductId> {
        let mut ids: Vec<ProductId> = self
            .lines
            .iter()
            .filter_map(|l| l.product_id.trim().parse().ok())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Checks every field, reporting each bad one (line fields as
    /// `lines[N].field`, N counting every line sent). `product` tells what
    /// a product id names; `now` bounds the order time; times without an
    /// offset are read in `zone`.
    pub fn check(
        &self,
        product: impl Fn(&ProductId) -> Option<ProductRef>,
        now: Timestamp,
        zone: chrono_tz::Tz,
    ) -> Result<NewOrder, FieldErrors> {
        let mut e = FieldErrors::new();
        let order_no = e.take("order_no", text::optional(&self.order_no, ORDER_NO_MAX));
        let ordered_at = if self.ordered_at.trim().is_empty() {
            Some(now)
        } else {
            e.take(
                "ordered_at",
                parse_local(&self.ordered_at, zone).and_then(|t| {
                    if t > now {
                        Err(Problem::Invalid {
                            zh: "下单时间不能晚于现在".into(),
                            en: "must not be in the future".into(),
                        })
                    } else {
                        Ok(t)
                    }
                }),
            )
        };
        let notes = e.take("notes", text::multiline(&self.notes, NOTES_MAX));
        let order_discount = e.take("discount", optional_amount(&self.discount));

        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.iter().enumerate() {
            if l.is_blank() {
                continue;
            }
            if let Some(line) = check_line(i, l, &product, ordered_at, zone, &mut e) {
                lines.push(line);
            }
        }
        if self.lines.iter().all(LineInput::is_blank) {
            e.add(
                "lines",
                Problem::Invalid {
                    zh: "订单至少要有一行商品".into(),
                    en: "an order needs at least one line".into(),
                },
            );
        }
        if !e.is_empty() {
            return Err(e);
        }
        let ordered_at = ordered_at.expect("checked");
        let order_discount = order_discount.expect("checked").unwrap_or(Fen::ZERO);
        let mut subtotal = Some(Fen::ZERO);
        let mut line_discounts = Some(Fen::ZERO);
        let mut quantity = Some(0i64);
        for l in &lines {
            subtotal = subtotal.and_then(|s| add(s, l.amount));
            line_discounts = line_discounts.and_then(|s| add(s, l.discount));
            quantity = quantity.and_then(|q| q.checked_add(l.quantity));
        }
        let (Some(subtotal), Some(line_discounts), Some(quantity)) =
            (subtotal, line_discounts, quantity)
        else {
            return Err(FieldErrors::single("lines", too_large()));
        };
        if order_discount > subtotal {
            return Err(FieldErrors::single(
                "discount",
                Problem::Invalid {
                    zh: format!("订单折扣不能超过各行合计 {subtotal}"),
                    en: format!("must not exceed the sum of the lines, {subtotal}"),
                },
            ));
        }
        let discount = add(line_discounts, order_discount)
            .ok_or_else(|| FieldErrors::single("discount", too_large()))?;
        let amount = Fen(subtotal.0 - order_discount.0);
        let product_summary = summary(lines.iter().map(|l| l.description.as_str()));
        Ok(NewOrder {
            order_no: order_no.expect("checked"),
            ordered_at,
            notes: notes.expect("checked"),
            lines,
            order_discount,
            subtotal,
            discount,
            amount,
            quantity,
            product: product_summary,
        })
    }
}

fn check_line(
    i: usize,
    l: &LineInput,
    product: &impl Fn(&ProductId) -> Option<ProductRef>,
    ordered_at: Option<Timestamp>,
    zone: chrono_tz::Tz,
    e: &mut FieldErrors,
) -> Option<NewLine> {
    let f = |name: &str| format!("lines[{i}].{name}");
    let found: Option<(ProductId, ProductRef)> = match l.product_id.trim() {
        "" => None,
        raw => {
            let p = raw
                .parse::<ProductId>()
                .ok()
                .and_then(|id| product(&id).map(|p| (id, p)));
            match p {
                None => {
                    e.add(f("product_id"), Problem::NotFound);
                    return None;
                }
                Some((_, p)) if !p.active => {
                    e.add(
                        f("product_id"),
                        Problem::Invalid {
                            zh: "该产品已停售".into(),
                            en: "this product is no longer sold".into(),
                        },
                    );
                    return None;
                }
                Some(found) => Some(found),
            }
        }
    };
    let description = match (text::optional(&l.description, DESCRIPTION_MAX), &found) {
        (Ok(Some(d)), _) => Some(d),
        (Ok(None), Some((_, p))) => Some(p.name.chars().take(DESCRIPTION_MAX).collect()),
        (Ok(None), None) => {
            e.add(f("description"), Problem::Required);
            None
        }
        (Err(p), _) => {
            e.add(f("description"), p);
            None
        }
    };
    let quantity = {
        let q = text::half_width(&l.quantity);
        let q = q.trim();
        if q.is_empty() {
            Some(1)
        } else {
            match q.parse::<i64>() {
                Ok(n) if (1..=MAX_QUANTITY).contains(&n) => Some(n),
                _ => {
                    e.add(
                        f("quantity"),
                        Problem::Invalid {
                            zh: format!("数量应为 1 到 {MAX_QUANTITY} 的整数"),
                            en: format!("must be a whole number from 1 to {MAX_QUANTITY}"),
                        },
                    );
                    None
                }
            }
        }
    };
    let unit_price = match (optional_amount(&l.unit_price), &found) {
        (Ok(Some(p)), _) => Some(p),
        (Ok(None), Some((_, p))) => match p.price {
            Some(price) => Some(price),
            None => {
                e.add(
                    f("unit_price"),
                    Problem::Invalid {
                        zh: "该产品尚无价格，请填写单价".into(),
                        en: "the product has no price yet: give the unit price".into(),
                    },
                );
                None
            }
        },
        (Ok(None), None) => {
            e.add(f("unit_price"), Problem::Required);
            None
        }
        (Err(p), _) => {
            e.add(f("unit_price"), p);
            None
        }
    };
    let discount = e
        .take(&f("discount"), optional_amount(&l.discount))
        .map(|d| d.unwrap_or(Fen::ZERO));
    let (description, quantity, unit_price, discount) =
        (description?, quantity?, unit_price?, discount?);
    let Some(gross) = unit_price.checked_mul(quantity).filter(|g| g.0 <= MAX_FEN) else {
        e.add(f("unit_price"), too_large());
        return None;
    };
    if discount > gross {
        e.add(
            f("discount"),
            Problem::Invalid {
                zh: format!("折扣不能超过数量×单价 {gross}"),
                en: format!("must not exceed quantity × unit price, {gross}"),
            },
        );
        return None;
    }
    let warranty_until = match (&found, ordered_at) {
        (Some((_, p)), Some(at)) => warranty_until(at, p.warranty_months, zone),
        _ => None,
    };
    Some(NewLine {
        product_id: found.map(|(id, _)| id),
        description,
        quantity,
        unit_price,
        discount,
        amount: Fen(gross.0 - discount.0),
        warranty_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn now() -> Timestamp {
        parse_local("2025-06-01 12:00", Shanghai).unwrap()
    }

    fn catalogue(id: &ProductId) -> impl Fn(&ProductId) -> Option<ProductRef> + '_ {
        move |p: &ProductId| {
            (p == id).then(|| ProductRef {
                name: "净水器".into(),
                price: Some(Fen(129_900)),
                warranty_months: 12,
                active: true,
            })
        }
    }

    fn line(product: &str, qty: &str, price: &str, discount: &str) -> LineInput {
        LineInput {
            product_id: product.into(),
            description: String::new(),
            quantity: qty.into(),
            unit_price: price.into(),
            discount: discount.into(),
        }
    }

    #[test]
    fn products_parse_every_field() {
        let ok = ProductInput {
            sku: " ＷＰ-100 ".into(),
            name: "净水器".into(),
            warranty_months: "24".into(),
            price: "1,299.00".into(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(ok.sku, "WP-100");
        assert_eq!(ok.warranty_months, 24);
        assert_eq!(ok.price, Some(Fen(129_900)));
        assert!(ok.active);
        let e = ProductInput {
            sku: "a b".into(),
            name: " ".into(),
            warranty_months: "601".into(),
            price: "-1".into(),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        for f in ["sku", "name", "warranty_months", "price"] {
            assert!(e.get(f).is_some(), "{f} not reported");
        }
        assert_eq!(sku(&"x".repeat(65)), Err(Problem::TooLong { max: 64 }));
        assert_eq!(warranty_months(""), Ok(0));
        assert_eq!(warranty_months("600"), Ok(600));
        assert_eq!(warranty_months("1.5"), Err(Problem::InvalidNumber));
    }

    #[test]
    fn prices_take_effect_now_or_when_said() {
        let p = PriceInput {
            price: "99.5".into(),
            valid_from: String::new(),
        }
        .check(now(), Shanghai)
        .unwrap();
        assert_eq!((p.price, p.valid_from), (Fen(9_950), now()));
        let later = PriceInput {
            price: "0".into(),
            valid_from: "2025-07-01".into(),
        }
        .check(now(), Shanghai)
        .unwrap();
        assert_eq!(
            later.valid_from,
            parse_local("2025-07-01", Shanghai).unwrap()
        );
        let e = PriceInput {
            price: "".into(),
            valid_from: "soon".into(),
        }
        .check(now(), Shanghai)
        .unwrap_err();
        assert_eq!(e.get("price"), Some(&Problem::Required));
        assert_eq!(e.get("valid_from"), Some(&Problem::InvalidDate));
    }

    #[test]
    fn totals_with_line_and_order_discounts() {
        let id = ProductId::new();
        let input = OrderInput {
            ordered_at: "2025-05-31 10:00".into(),
            discount: "10".into(),
            lines: vec![
                // The product's current price, less 100 yuan.
                line(id.as_str(), "2", "", "100"),
                LineInput {
                    description: "安装费".into(),
                    unit_price: "50".into(),
                    ..Default::default()
                },
                // A spare row of a form.
                line("", "1", "", ""),
            ],
            ..Default::default()
        };
        let o = input.check(catalogue(&id), now(), Shanghai).unwrap();
        assert_eq!(o.lines.len(), 2);
        assert_eq!(o.lines[0].description, "净水器");
        assert_eq!(o.lines[0].unit_price, Fen(129_900));
        assert_eq!(o.lines[0].amount, Fen(2 * 129_900 - 10_000));
        assert_eq!(o.lines[1].amount, Fen(5_000));
        assert_eq!(o.lines[1].warranty_until, None);
        assert_eq!(o.subtotal, Fen(259_800 - 10_000 + 5_000));
        assert_eq!(o.order_discount, Fen(1_000));
        assert_eq!(o.discount, Fen(11_000));
        assert_eq!(o.amount, Fen(254_800 - 1_000));
        assert_eq!(o.list_value(), Fen(2 * 129_900 + 5_000));
        assert_eq!(o.quantity, 3);
        assert_eq!(o.product.as_deref(), Some("净水器、安装费"));
        assert_eq!(
            o.lines[0].warranty_until,
            Some(parse_local("2026-05-31 10:00", Shanghai).unwrap())
        );
    }

    #[test]
    fn each_bad_field_is_named_by_its_line() {
        let id = ProductId::new();
        let input = OrderInput {
            ordered_at: "2025-06-02".into(),
            discount: "abc".into(),
            lines: vec![
                line(id.as_str(), "0", "", ""),
                line(&ProductId::new().to_string(), "1", "", ""),
                LineInput {
                    quantity: "2".into(),
                    unit_price: "10".into(),
                    discount: "20.01".into(),
                    ..Default::default()
                },
                line("", "1", "-5", ""),
            ],
            ..Default::default()
        };
        let e = input.check(catalogue(&id), now(), Shanghai).unwrap_err();
        let mut fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "discount",
                "lines[0].quantity",
                "lines[1].product_id",
                "lines[2].description",
                "lines[3].description",
                "lines[3].unit_price",
                "ordered_at",
            ]
        );
        // The line discount is checked once the line is otherwise valid.
        let e = OrderInput {
            lines: vec![LineInput {
                description: "x".into(),
                quantity: "2".into(),
                unit_price: "10".into(),
                discount: "20.01".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
        .check(catalogue(&id), now(), Shanghai)
        .unwrap_err();
        assert!(e.get("lines[0].discount").is_some());
    }

    #[test]
    fn an_order_needs_a_line_and_a_discount_within_its_lines() {
        let id = ProductId::new();
        let none = OrderInput {
            lines: vec![line("", "1", "", "")],
            ..Default::default()
        };
        let e = none.check(catalogue(&id), now(), Shanghai).unwrap_err();
        assert!(e.get("lines").is_some());
        let over = OrderInput {
            discount: "1299.01".into(),
            lines: vec![line(id.as_str(), "1", "", "")],
            ..Default::default()
        };
        let e = over.check(catalogue(&id), now(), Shanghai).unwrap_err();
        assert!(e.get("discount").is_some());
        let all = OrderInput {
            discount: "1299".into(),
            ..over
        };
        let o = all.check(catalogue(&id), now(), Shanghai).unwrap();
        assert_eq!((o.amount, o.discount), (Fen::ZERO, Fen(129_900)));
        // Blank time is now.
        assert_eq!(o.ordered_at, now());
    }

    #[test]
    fn overflow_is_a_field_error() {
        let id = ProductId::new();
        let huge = OrderInput {
            lines: vec![line(id.as_str(), "1000000", "100000000000", "")],
            ..Default::default()
        };
        let e = huge.check(catalogue(&id), now(), Shanghai).unwrap_err();
        assert!(e.get("lines[0].unit_price").is_some());
        // Each line within bounds, their sum not.
        let many = OrderInput {
            lines: vec![line(id.as_str(), "1", "100000000000", ""); 2],
            ..Default::default()
        };
        let e = many.check(catalogue(&id), now(), Shanghai).unwrap_err();
        assert!(e.get("lines").is_some());
    }

    #[test]
    fn inactive_and_priceless_products() {
        let id = ProductId::new();
        let stopped = |_: &ProductId| {
            Some(ProductRef {
                name: "旧款".into(),
                price: Some(Fen(100)),
                warranty_months: 0,
                active: false,
            })
        };
        let input = OrderInput {
            lines: vec![line(id.as_str(), "1", "", "")],
            ..Default::default()
        };
        let e = input.check(stopped, now(), Shanghai).unwrap_err();
        assert!(e.get("lines[0].product_id").is_some());
        let priceless = |_: &ProductId| {
            Some(ProductRef {
                name: "新款".into(),
                price: None,
                warranty_months: 3,
                active: true,
            })
        };
        let e = input.check(priceless, now(), Shanghai).unwrap_err();
        assert!(e.get("lines[0].unit_price").is_some());
        let typed = OrderInput {
            lines: vec![line(id.as_str(), "1", "8.8", "")],
            ..Default::default()
        };
        let o = typed.check(priceless, now(), Shanghai).unwrap();
        assert_eq!(o.lines[0].unit_price, Fen(880));
    }

    #[test]
    fn warranties_count_calendar_months_in_the_business_zone() {
        let at = |s: &str| parse_local(s, Shanghai).unwrap();
        assert_eq!(
            warranty_until(at("2024-01-31 09:00"), 1, Shanghai),
            Some(at("2024-02-29 09:00"))
        );
        // 02:00 in Shanghai is the previous day in UTC.
        assert_eq!(
            warranty_until(at("2024-03-31 02:00"), 1, Shanghai),
            Some(at("2024-04-30 02:00"))
        );
        assert_eq!(warranty_until(at("2024-03-31 02:00"), 0, Shanghai), None);
        assert_eq!(
            warranty_until(at("2024-03-31 02:00"), 600, Shanghai),
            Some(at("2074-03-31 02:00"))
        );
    }
}
