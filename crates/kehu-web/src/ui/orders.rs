//! 产品与订单: the product catalogue (list, new, edit, price changes with
//! the price history), the customer page's purchases (购买记录) and the new
//! order page of a customer, whose lines pick a product (filling its
//! current price), a quantity and a discount. The page works without
//! JavaScript: a blank unit price takes the product's price, "calculate"
//! shows the totals, "add line" adds a row; `static/orders.js` fills prices
//! and totals as one types.

use crate::auth::{CsrfForm, WebUser};
use crate::state::AppState;
use crate::ui::form::{Errors, Posted};
use crate::ui::page::{invalid, render, Chrome, PageError, PageResult};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kehu_domain::ids::{CustomerId, OrderId, ProductId};
use kehu_domain::money::Fen;
use kehu_domain::order::{LineInput, NewOrder, OrderInput, PriceInput, ProductInput, ProductRef};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Lang};
use kehu_store::customers::{self, Customer};
use kehu_store::orders::{self, Order};
use kehu_store::products::{self, Product};
use kehu_store::Error as StoreError;
use std::collections::HashMap;

/// (key, zh-CN, English) texts of these pages.
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.products", "产品", "Products"),
    ("products.title", "产品与价格", "Products and prices"),
    ("products.new", "新建产品", "New product"),
    ("products.edit", "编辑产品", "Edit product"),
    ("products.none", "还没有产品", "No products yet"),
    ("products.sku", "产品编号", "SKU"),
    ("products.name", "名称", "Name"),
    ("products.category", "类别", "Category"),
    ("products.warranty", "保修期（月）", "Warranty (months)"),
    ("products.months", "个月", "months"),
    ("products.price", "价格", "Price"),
    ("products.price_now", "现价", "Current price"),
    ("products.no_price", "未定价", "No price"),
    ("products.active", "在售", "On sale"),
    ("products.inactive", "停售", "Not sold"),
    ("products.status", "状态", "Status"),
    ("products.create", "创建产品", "Create product"),
    (
        "products.initial_price",
        "初始价格（元）",
        "Initial price (yuan)",
    ),
    ("products.price_history", "价格历史", "Price history"),
    ("products.valid_from", "生效时间", "Valid from"),
    (
        "products.valid_from_hint",
        "留空为立即生效；可填将来的时间提前公布新价",
        "Blank: now; a future time announces a price in advance",
    ),
    ("products.set_price", "调整价格", "Change price"),
    ("products.new_price", "新价格（元）", "New price (yuan)"),
    ("products.current", "当前", "Current"),
    ("products.scheduled", "未生效", "Scheduled"),
    ("products.by", "调整人", "By"),
    ("products.saved", "已保存", "Saved"),
    ("orders.purchases", "购买记录", "Purchases"),
    ("orders.new", "新建订单", "New order"),
    ("orders.none", "还没有订单", "No orders yet"),
    ("orders.ordered_at", "下单时间", "Ordered at"),
    ("orders.order_no", "订单号", "Order number"),
    ("orders.items", "商品", "Items"),
    ("orders.paid", "实付", "Paid"),
    ("orders.discount", "优惠", "Discount"),
    ("orders.list_value", "原价合计", "List value"),
    ("orders.notes", "备注", "Notes"),
    ("orders.by", "录入人", "Entered by"),
    ("orders.delete", "删除订单", "Delete order"),
    (
        "orders.delete_confirm",
        "删除后不可恢复（审计日志保留记录）",
        "This cannot be undone (the audit log keeps it)",
    ),
    ("orders.warranty_until", "保修至", "Warranty until"),
    ("orders.lines", "订单明细", "Lines"),
    ("orders.product", "产品", "Product"),
    (
        "orders.other_item",
        "其他（请填写说明）",
        "Other (describe it)",
    ),
    ("orders.description", "说明", "Description"),
    (
        "orders.description_hint",
        "选了产品可留空",
        "Blank: the product's name",
    ),
    ("orders.quantity", "数量", "Qty"),
    ("orders.unit_price", "单价（元）", "Unit price (yuan)"),
    (
        "orders.unit_price_hint",
        "留空按产品现价",
        "Blank: the product's current price",
    ),
    ("orders.line_discount", "折扣（元）", "Discount (yuan)"),
    ("orders.amount", "金额", "Amount"),
    (
        "orders.order_discount",
        "整单折扣（元）",
        "Order discount (yuan)",
    ),
    ("orders.subtotal", "各行合计", "Sum of lines"),
    ("orders.total_discount", "优惠合计", "Total discount"),
    ("orders.to_pay", "实付金额", "Amount paid"),
    ("orders.add_line", "添加一行", "Add line"),
    ("orders.calculate", "计算合计", "Calculate"),
    ("orders.save", "保存订单", "Save order"),
    ("orders.totals", "合计", "Totals"),
    ("orders.live_total", "按当前填写估算", "Estimate as typed"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products", get(products_page))
        .route("/products/new", get(new_product_form).post(create_product))
        .route("/products/{id}", get(product_page).post(update_product))
        .route("/products/{id}/prices", post(change_price))
        .route(
            "/customers/{id}/orders/new",
            get(new_order_form).post(create_order),
        )
        .route("/orders/{id}/delete", post(delete_order))
}

type Answer = Result<Response, PageError>;

fn parse_id<T: std::str::FromStr>(raw: &str, lang: Lang) -> Result<T, PageError> {
    raw.parse().map_err(|_| PageError::not_found(lang))
}

fn yuan(fen: i64) -> String {
    Fen(fen).to_string()
}

/// The time in the business zone as a `datetime-local` input shows it.
fn local_input(t: Timestamp, chrome: &Chrome) -> String {
    t.utc()
        .with_timezone(&chrome.tz)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

// ---------------------------------------------------------------- products

/// A product as a row of the list.
pub struct ProductRow {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub warranty_months: i64,
    pub price: Option<String>,
    pub active: bool,
}

impl ProductRow {
    fn new(p: &Product) -> ProductRow {
        ProductRow {
            id: p.id.to_string(),
            sku: p.sku.clone(),
            name: p.name.clone(),
            category: p.category.clone().unwrap_or_default(),
            warranty_months: p.warranty_months,
            price: p.price_fen.map(yuan),
            active: p.active,
        }
    }
}

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    chrome: Chrome,
    products: Vec<ProductRow>,
    can_manage: bool,
}

pub async fn products_page(State(s): State<AppState>, u: WebUser) -> Answer {
    let list = products::list(&s.db, false, Timestamp::now())
        .await
        .page(u.lang)?;
    Ok(render(&ProductsPage {
        chrome: Chrome::new(&u, "products", s.config.timezone),
        products: list.iter().map(ProductRow::new).collect(),
        can_manage: u.principal.role.can_manage_products(),
    }))
}

/// One price of the history, as shown.
pub struct PriceRow {
    pub price: String,
    pub valid_from: String,
    pub current: bool,
    pub scheduled: bool,
    pub by: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "product_form.html")]
struct ProductPage {
    chrome: Chrome,
    /// `None` for a new product.
    id: Option<String>,
    title: String,
    current_price: Option<String>,
    can_manage: bool,
    values: Posted,
    errors: Errors,
    prices: Vec<PriceRow>,
    price_values: Posted,
    price_errors: Errors,
}

fn manager_only(u: &WebUser) -> Result<(), PageError> {
    if u.principal.role.can_manage_products() {
        Ok(())
    } else {
        Err(PageError::forbidden(u.lang))
    }
}

fn product_values(p: &Product) -> Posted {
    let mut v = Posted::default();
    v.0.insert("sku".into(), p.sku.clone());
    v.0.insert("name".into(), p.name.clone());
    v.0.insert("category".into(), p.category.clone().unwrap_or_default());
    v.0.insert("warranty_months".into(), p.warranty_months.to_string());
    if p.active {
        v.0.insert("active".into(), "1".into());
    }
    v
}

fn product_input(p: &Posted) -> ProductInput {
    ProductInput {
        sku: p.get("sku"),
        name: p.get("name"),
        category: p.get("category"),
        warranty_months: p.get("warranty_months"),
        price: p.get("price"),
        active: !p.get("active").is_empty(),
    }
}

pub async fn new_product_form(State(s): State<AppState>, u: WebUser) -> Answer {
    manager_only(&u)?;
    let mut values = Posted::default();
    values.0.insert("active".into(), "1".into());
    Ok(render(&new_product_page(&s, &u, values, Errors::default())))
}

fn new_product_page(s: &AppState, u: &WebUser, values: Posted, errors: Errors) -> ProductPage {
    let chrome = Chrome::new(u, "products", s.config.timezone);
    ProductPage {
        title: chrome.tr.t("products.new").to_string(),
        chrome,
        id: None,
        current_price: None,
        can_manage: true,
        values,
        errors,
        prices: vec![],
        price_values: Posted::default(),
        price_errors: Errors::default(),
    }
}

pub async fn create_product(
    State(s): State<AppState>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Answer {
    manager_only(&u)?;
    let p = Posted::new(pairs);
    let result = match product_input(&p).parse() {
        Ok(f) => products::create(&s.db, &u.principal, &f, Timestamp::now()).await,
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(created) => Ok(Redirect::to(&format!("/products/{}", created.id)).into_response()),
        Err(StoreError::Invalid(e)) => {
            let errors = Errors::from(&e, u.lang);
            Ok(invalid(&new_product_page(&s, &u, p, errors)))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

async fn product_page_of(
    s: &AppState,
    u: &WebUser,
    id: &ProductId,
    values: Option<(Posted, Errors)>,
    price: (Posted, Errors),
) -> Result<ProductPage, PageError> {
    let now = Timestamp::now();
    let p = products::get(&s.db, id, now).await.page(u.lang)?;
    let chrome = Chrome::new(u, "products", s.config.timezone);
    let prices = p
        .prices
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|x| PriceRow {
            price: yuan(x.price_fen),
            valid_from: chrome.time(&x.valid_from),
            current: x.current,
            scheduled: x.valid_from > now,
            by: x.user_name.clone().unwrap_or_default(),
            at: chrome.time(&x.created_at),
        })
        .collect();
    let (values, errors) = values.unwrap_or_else(|| (product_values(&p), Errors::default()));
    Ok(ProductPage {
        title: format!("{} · {}", p.sku, p.name),
        chrome,
        id: Some(p.id.to_string()),
        current_price: p.price_fen.map(yuan),
        can_manage: u.principal.role.can_manage_products(),
        values,
        errors,
        prices,
        price_values: price.0,
        price_errors: price.1,
    })
}

pub async fn product_page(State(s): State<AppState>, u: WebUser, Path(id): Path<String>) -> Answer {
    let id: ProductId = parse_id(&id, u.lang)?;
    Ok(render(
        &product_page_of(&s, &u, &id, None, Default::default()).await?,
    ))
}

pub async fn update_product(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Answer {
    manager_only(&u)?;
    let id: ProductId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    // The price changes through its own form, with the history.
    let input = ProductInput {
        price: String::new(),
        ..product_input(&p)
    };
    let result = match input.parse() {
        Ok(f) => products::update(&s.db, &u.principal, &id, &f, Timestamp::now()).await,
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/products/{id}")).into_response()),
        Err(StoreError::Invalid(e)) => {
            let errors = Errors::from(&e, u.lang);
            Ok(invalid(
                &product_page_of(&s, &u, &id, Some((p, errors)), Default::default()).await?,
            ))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

pub async fn change_price(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Answer {
    manager_only(&u)?;
    let id: ProductId = parse_id(&id, u.lang)?;
    let p = Posted::new(pairs);
    let now = Timestamp::now();
    let input = PriceInput {
        price: p.get("price"),
        valid_from: p.get("valid_from"),
    };
    let result = match input.check(now, s.config.timezone) {
        Ok(price) => products::set_price(&s.db, &u.principal, &id, &price, now).await,
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/products/{id}#prices")).into_response()),
        Err(StoreError::Invalid(e)) => {
            let errors = Errors::from(&e, u.lang);
            Ok(invalid(
                &product_page_of(&s, &u, &id, None, (p, errors)).await?,
            ))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}

// ---------------------------------------------------------------- purchases

/// A line of an order, as shown.
pub struct LineRow {
    pub description: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: String,
    pub discount: Option<String>,
    pub amount: String,
    pub warranty_until: Option<String>,
}

/// An order on the customer page.
pub struct OrderRow {
    pub id: String,
    pub when: String,
    pub order_no: String,
    pub product: String,
    pub lines: Vec<LineRow>,
    pub paid: String,
    pub discount: Option<String>,
    pub order_discount: Option<String>,
    pub list_value: String,
    pub notes: String,
    pub by: String,
    pub can_delete: bool,
}

/// The customer page's purchases: the newest orders with their lines.
pub struct Purchases {
    pub orders: Vec<OrderRow>,
    /// May add orders (writes the customer).
    pub can_add: bool,
}

fn date_of(t: &Timestamp, chrome: &Chrome) -> String {
    t.utc()
        .with_timezone(&chrome.tz)
        .format("%Y-%m-%d")
        .to_string()
}

fn order_row(o: &Order, c: &Customer, u: &WebUser, chrome: &Chrome) -> OrderRow {
    let nonzero = |f: i64| (f != 0).then(|| yuan(f));
    OrderRow {
        id: o.id.to_string(),
        when: chrome.time(&o.ordered_at),
        order_no: o.order_no.clone().unwrap_or_default(),
        product: o.product.clone().unwrap_or_default(),
        lines: o
            .lines
            .iter()
            .map(|l| LineRow {
                description: l.description.clone(),
                sku: l.sku.clone().unwrap_or_default(),
                quantity: l.quantity,
                unit_price: yuan(l.unit_price_fen),
                discount: nonzero(l.discount_fen),
                amount: yuan(l.amount_fen),
                warranty_until: l.warranty_until.map(|t| date_of(&t, chrome)),
            })
            .collect(),
        paid: yuan(o.amount_fen),
        discount: nonzero(o.discount_fen),
        order_discount: if o.lines.is_empty() {
            None
        } else {
            nonzero(o.order_discount_fen())
        },
        list_value: yuan(o.list_fen),
        notes: o.notes.clone().unwrap_or_default(),
        by: o.user_name.clone().unwrap_or_default(),
        can_delete: orders::may_delete(&u.principal, o, c),
    }
}

/// The purchases section of a customer's page.
pub async fn purchases(
    s: &AppState,
    u: &WebUser,
    c: &Customer,
    chrome: &Chrome,
) -> Result<Purchases, PageError> {
    let list = orders::list(&s.db, &u.principal, &c.id, 50)
        .await
        .page(u.lang)?;
    Ok(Purchases {
        orders: list.iter().map(|o| order_row(o, c, u, chrome)).collect(),
        can_add: u.principal.can_write(&c.placement()),
    })
}

/// An order on the customer's timeline: (label, body).
pub fn timeline_entry(o: &Order, lang: Lang) -> (String, String) {
    let mut label = lang.pick("订单", "Order").to_string();
    if let Some(no) = &o.order_no {
        label.push(' ');
        label.push_str(no);
    }
    label.push_str(&format!(" · {}", yuan(o.amount_fen)));
    if o.discount_fen != 0 {
        label.push_str(&format!(
            " · {}{}",
            lang.pick("优惠 ", "discount "),
            yuan(o.discount_fen)
        ));
    }
    let body = if o.lines.is_empty() {
        o.product.clone().unwrap_or_default()
    } else {
        o.lines
            .iter()
            .map(|l| format!("{} × {}", l.description, l.quantity))
            .collect::<Vec<_>>()
            .join("、")
    };
    (label, body)
}

pub async fn delete_order(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, _): CsrfForm<Vec<(String, String)>>,
) -> Answer {
    let id: OrderId = parse_id(&id, u.lang)?;
    let o = orders::get(&s.db, &u.principal, &id).await.page(u.lang)?;
    orders::delete(&s.db, &u.principal, &id)
        .await
        .page(u.lang)?;
    Ok(Redirect::to(&format!("/customers/{}#purchases", o.customer_id)).into_response())
}

// ---------------------------------------------------------------- new order

/// A product offered in a line's select.
pub struct ProductChoice {
    pub id: String,
    pub label: String,
    /// The current price in yuan, as the unit price field takes it.
    pub price: String,
}

/// A row of the order form, as typed, with its errors.
pub struct LineForm {
    pub n: usize,
    pub product_id: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount: String,
    pub errors: HashMap<&'static str, String>,
    /// The line's amount, once the order was calculated.
    pub amount: Option<String>,
}

impl LineForm {
    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// The totals of a calculated order.
pub struct Totals {
    pub subtotal: String,
    pub order_discount: String,
    pub discount: String,
    pub amount: String,
    pub list_value: String,
}

#[derive(Template)]
#[template(path = "order_new.html")]
struct OrderPage {
    chrome: Chrome,
    customer_id: String,
    customer_name: String,
    products: Vec<ProductChoice>,
    lines: Vec<LineForm>,
    values: Posted,
    errors: Errors,
    totals: Option<Totals>,
}

/// Rows the form shows at least, and at most.
const MIN_LINES: usize = 3;
const MAX_LINES: usize = 200;
const LINE_FIELDS: [&str; 5] = [
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "discount",
];

/// The number of line rows a posted form holds (their highest index + 1).
fn posted_lines(p: &Posted) -> usize {
    p.0.keys()
        .filter_map(|k| k.strip_prefix("lines[")?.split(']').next()?.parse().ok())
        .map(|i: usize| i + 1)
        .max()
        .unwrap_or(0)
        .min(MAX_LINES)
}

fn order_input(p: &Posted) -> OrderInput {
    OrderInput {
        order_no: p.get("order_no"),
        ordered_at: p.get("ordered_at"),
        discount: p.get("discount"),
        notes: p.get("notes"),
        lines: (0..posted_lines(p))
            .map(|i| {
                let f = |n: &str| p.get(&format!("lines[{i}].{n}"));
                LineInput {
                    product_id: f("product_id"),
                    description: f("description"),
                    quantity: f("quantity"),
                    unit_price: f("unit_price"),
                    discount: f("discount"),
                }
            })
            .collect(),
    }
}

async fn writable_customer(
    s: &AppState,
    u: &WebUser,
    id: &CustomerId,
) -> Result<Customer, PageError> {
    let c = customers::get(&s.db, &u.principal, id).await.page(u.lang)?;
    if !u.principal.can_write(&c.placement()) {
        return Err(PageError::forbidden(u.lang));
    }
    Ok(c)
}

async fn order_page(
    s: &AppState,
    u: &WebUser,
    c: &Customer,
    values: Posted,
    e: &FieldErrors,
    rows: usize,
    checked: Option<&NewOrder>,
) -> Result<OrderPage, PageError> {
    let chrome = Chrome::new(u, "customers", s.config.timezone);
    let offered = products::list(&s.db, true, Timestamp::now())
        .await
        .page(u.lang)?;
    let products = offered
        .iter()
        .map(|p| ProductChoice {
            id: p.id.to_string(),
            label: match p.price_fen {
                Some(f) => format!("{} · {} · {}", p.sku, p.name, yuan(f)),
                None => format!("{} · {}", p.sku, p.name),
            },
            price: p
                .price_fen
                .map(|f| Fen(f).to_yuan_string())
                .unwrap_or_default(),
        })
        .collect();
    let views = e.views(u.lang);
    // Amounts per row, when the order was calculated: the non-blank rows
    // in order.
    let input = order_input(&values);
    let mut amounts = checked.map(|o| o.lines.iter().map(|l| l.amount.to_string()));
    let lines = (0..rows.max(MIN_LINES))
        .map(|n| {
            let f = |name: &str| values.get(&format!("lines[{n}].{name}"));
            let mut errors = HashMap::new();
            for field in LINE_FIELDS {
                let key = format!("lines[{n}].{field}");
                if let Some(v) = views.iter().find(|v| v.field == key) {
                    errors.insert(field, v.message.clone());
                }
            }
            let blank = input.lines.get(n).is_none_or(LineInput::is_blank);
            LineForm {
                n,
                product_id: f("product_id"),
                description: f("description"),
                quantity: match f("quantity") {
                    q if q.is_empty() => "1".into(),
                    q => q,
                },
                unit_price: f("unit_price"),
                discount: f("discount"),
                errors,
                amount: if blank {
                    None
                } else {
                    amounts.as_mut().and_then(Iterator::next)
                },
            }
        })
        .collect();
    let mut values = values;
    if values.get("ordered_at").is_empty() {
        values
            .0
            .insert("ordered_at".into(), local_input(Timestamp::now(), &chrome));
    }
    Ok(OrderPage {
        chrome,
        customer_id: c.id.to_string(),
        customer_name: c.fields.name.clone(),
        products,
        lines,
        values,
        errors: Errors::from(e, u.lang),
        totals: checked.map(|o| Totals {
            subtotal: o.subtotal.to_string(),
            order_discount: o.order_discount.to_string(),
            discount: o.discount.to_string(),
            amount: o.amount.to_string(),
            list_value: o.list_value().to_string(),
        }),
    })
}

pub async fn new_order_form(
    State(s): State<AppState>,
    u: WebUser,
    Path(id): Path<String>,
) -> Answer {
    let id: CustomerId = parse_id(&id, u.lang)?;
    let c = writable_customer(&s, &u, &id).await?;
    Ok(render(
        &order_page(&s, &u, &c, Posted::default(), &FieldErrors::new(), 0, None).await?,
    ))
}

/// Checks an order as the store would, for showing its totals.
async fn calculate(s: &AppState, input: &OrderInput) -> Result<NewOrder, StoreError> {
    let now = Timestamp::now();
    let catalogue: HashMap<ProductId, ProductRef> = products::list(&s.db, false, now)
        .await?
        .into_iter()
        .map(|p| {
            (
                p.id,
                ProductRef {
                    name: p.name,
                    price: p.price_fen.map(Fen),
                    warranty_months: u32::try_from(p.warranty_months).unwrap_or(0),
                    active: p.active,
                },
            )
        })
        .collect();
    Ok(input.check(|id| catalogue.get(id).cloned(), now, s.config.timezone)?)
}

pub async fn create_order(
    State(s): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(u, pairs): CsrfForm<Vec<(String, String)>>,
) -> Answer {
    let id: CustomerId = parse_id(&id, u.lang)?;
    let c = writable_customer(&s, &u, &id).await?;
    let p = Posted::new(pairs);
    let input = order_input(&p);
    let rows = posted_lines(&p);
    let action = p.get("action");
    if action == "add_line" || action == "calculate" {
        let extra = usize::from(action == "add_line");
        let (checked, errors) = if action == "calculate" {
            match calculate(&s, &input).await {
                Ok(o) => (Some(o), FieldErrors::new()),
                Err(StoreError::Invalid(e)) => (None, e),
                Err(e) => return Err(PageError::from_store(e, u.lang)),
            }
        } else {
            (None, FieldErrors::new())
        };
        let page = order_page(
            &s,
            &u,
            &c,
            p,
            &errors,
            (rows.max(MIN_LINES) + extra).min(MAX_LINES),
            checked.as_ref(),
        )
        .await?;
        return Ok(if errors.is_empty() {
            render(&page)
        } else {
            invalid(&page)
        });
    }
    match orders::create(
        &s.db,
        &u.principal,
        &id,
        &input,
        Timestamp::now(),
        s.config.timezone,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}#purchases")).into_response()),
        Err(StoreError::Invalid(e)) => {
            Ok(invalid(&order_page(&s, &u, &c, p, &e, rows, None).await?))
        }
        Err(e) => Err(PageError::from_store(e, u.lang)),
    }
}
