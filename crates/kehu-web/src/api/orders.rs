//! Products (the catalogue and its price history) and orders with their
//! lines. Managers and admins manage products; anyone who may write a
//! customer adds orders to it. Money goes out as integer fen (`*_fen`) and
//! comes in as fen or as yuan text (`"1299.50"`), one of the two.

use super::{path_id, ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::{ApiResult, OrProblem, ProblemDoc};
use crate::state::AppState;
use crate::views::Patch;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kehu_domain::ids::CustomerId;
use kehu_domain::money::Fen;
use kehu_domain::order::{LineInput, OrderInput, PriceInput, ProductInput};
use kehu_domain::time::Timestamp;
use kehu_domain::{FieldErrors, Problem};
use kehu_store::orders::{self, Order};
use kehu_store::products::{self, Product};
use kehu_store::Error as StoreError;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// An amount sent as fen or as yuan text, as the text the domain reads;
/// `None` when neither was sent.
fn money(e: &mut FieldErrors, field: &str, fen: Option<i64>, yuan: Option<&str>) -> Option<String> {
    match (fen, yuan.map(str::trim).filter(|y| !y.is_empty())) {
        (None, None) => None,
        (None, Some(y)) => Some(y.to_string()),
        (Some(f), None) => match Fen::from_fen(f) {
            Ok(f) => Some(f.to_yuan_string()),
            Err(p) => {
                e.add(format!("{field}_fen"), p);
                None
            }
        },
        (Some(_), Some(_)) => {
            e.add(
                field,
                Problem::Invalid {
                    zh: "金额只能填一种（元或分）".into(),
                    en: "give the amount once, in yuan or in fen".into(),
                },
            );
            None
        }
    }
}

/// Field errors on amounts sent in fen name the `_fen` field.
fn rename_fen(mut fe: FieldErrors, sent_fen: &[String]) -> FieldErrors {
    for f in &mut fe.0 {
        if sent_fen.contains(&f.field) {
            f.field.push_str("_fen");
        }
    }
    fe
}

// ---------------------------------------------------------------- products

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductListParams {
    /// Only the products offered for new orders.
    pub active: Option<bool>,
}

/// The catalogue: offered products first, then by SKU, each with the price
/// in force now.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ProductListParams),
    responses((status = 200, body = Vec<Product>)), security(("bearer" = [])))]
pub async fn list_products(
    State(s): State<AppState>,
    u: ApiUser,
    ApiQuery(p): ApiQuery<ProductListParams>,
) -> ApiResult<Json<Vec<Product>>> {
    Ok(Json(
        products::list(&s.db, p.active.unwrap_or(false), Timestamp::now())
            .await
            .or_problem(u.lang)?,
    ))
}

/// A new product. Its price, when given, applies from now.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    /// 1-64 characters, unique.
    pub sku: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    /// 0 to 600 (default 0).
    pub warranty_months: Option<i64>,
    /// The price in yuan, e.g. "1299.00"; or give `price_fen`.
    pub price: Option<String>,
    pub price_fen: Option<i64>,
    /// Offered for new orders (default true).
    pub active: Option<bool>,
}

/// Add a product (managers and admins).
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = ProductBody,
    responses((status = 201, body = Product), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn create_product(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<ProductBody>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let mut e = FieldErrors::new();
    let price = money(&mut e, "price", b.price_fen, b.price.as_deref());
    let input = ProductInput {
        sku: b.sku.unwrap_or_default(),
        name: b.name.unwrap_or_default(),
        category: b.category.unwrap_or_default(),
        warranty_months: b.warranty_months.map(|m| m.to_string()).unwrap_or_default(),
        price: price.unwrap_or_default(),
        active: b.active.unwrap_or(true),
    };
    let fields = checked_product(e, &input, b.price_fen.is_some()).or_problem(u.lang)?;
    let p = products::create(&s.db, &u.principal, &fields, Timestamp::now())
        .await
        .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(p)))
}

fn checked_product(
    mut e: FieldErrors,
    input: &ProductInput,
    price_in_fen: bool,
) -> Result<kehu_domain::order::ProductFields, FieldErrors> {
    match input.parse() {
        Ok(f) if e.is_empty() => Ok(f),
        Ok(_) => Err(e),
        Err(pe) => {
            let pe = if price_in_fen {
                rename_fen(pe, &["price".to_string()])
            } else {
                pe
            };
            e.0.extend(pe.0);
            Err(e)
        }
    }
}

/// A product with its price history, newest first.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get_product(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Product>> {
    Ok(Json(
        products::get(&s.db, &path_id(&id)?, Timestamp::now())
            .await
            .or_problem(u.lang)?,
    ))
}

/// Changes to a product: absent fields stay as they are, `category: null`
/// clears it. A price (yuan or fen) that differs from the one in force
/// becomes the price from now.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub category: Patch,
    pub warranty_months: Option<i64>,
    pub price: Option<String>,
    pub price_fen: Option<i64>,
    pub active: Option<bool>,
}

/// Change a product (managers and admins).
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", params(("id" = String, Path)),
    request_body = ProductPatch,
    responses((status = 200, body = Product), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc),
        (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn update_product(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ProductPatch>,
) -> ApiResult<Json<Product>> {
    let id = path_id(&id)?;
    let now = Timestamp::now();
    let current = products::get(&s.db, &id, now).await.or_problem(u.lang)?;
    let mut e = FieldErrors::new();
    let price = money(&mut e, "price", b.price_fen, b.price.as_deref());
    let input = ProductInput {
        sku: b.sku.unwrap_or(current.sku),
        name: b.name.unwrap_or(current.name),
        category: match b.category {
            Patch::Keep => current.category.unwrap_or_default(),
            Patch::Clear => String::new(),
            Patch::Set(c) => c,
        },
        warranty_months: b
            .warranty_months
            .unwrap_or(current.warranty_months)
            .to_string(),
        price: price.unwrap_or_default(),
        active: b.active.unwrap_or(current.active),
    };
    let fields = checked_product(e, &input, b.price_fen.is_some()).or_problem(u.lang)?;
    Ok(Json(
        products::update(&s.db, &u.principal, &id, &fields, now)
            .await
            .or_problem(u.lang)?,
    ))
}

/// A new price of a product.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBody {
    /// Yuan, e.g. "1199"; or give `price_fen`.
    pub price: Option<String>,
    pub price_fen: Option<i64>,
    /// From when it applies (RFC 3339, or a local time in the business
    /// zone); default now. A future time announces a price in advance.
    pub valid_from: Option<String>,
}

/// Give a product a new price (managers and admins); earlier prices stay in
/// its history. Answers with the product and its history.
#[utoipa::path(post, path = "/api/v1/products/{id}/prices", tag = "products", params(("id" = String, Path)),
    request_body = PriceBody,
    responses((status = 201, body = Product), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc),
        (status = 422, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn set_price(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PriceBody>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let id = path_id(&id)?;
    let now = Timestamp::now();
    let mut e = FieldErrors::new();
    let price = money(&mut e, "price", b.price_fen, b.price.as_deref());
    let input = PriceInput {
        price: price.unwrap_or_default(),
        valid_from: b.valid_from.unwrap_or_default(),
    };
    let checked = match input.check(now, s.config.timezone) {
        Ok(p) if e.is_empty() => Ok(p),
        Ok(_) => Err(e),
        Err(pe) => {
            let pe = if b.price_fen.is_some() {
                rename_fen(pe, &["price".to_string()])
            } else {
                pe
            };
            e.0.extend(pe.0);
            Err(e)
        }
    }
    .or_problem(u.lang)?;
    let p = products::set_price(&s.db, &u.principal, &id, &checked, now)
        .await
        .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(p)))
}

// ---------------------------------------------------------------- orders

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderListParams {
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// A customer's orders with their lines, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders",
    params(("id" = String, Path), OrderListParams),
    responses((status = 200, body = Vec<Order>), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn customer_orders(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<OrderListParams>,
) -> ApiResult<Json<Vec<Order>>> {
    let id: CustomerId = path_id(&id)?;
    Ok(Json(
        orders::list(&s.db, &u.principal, &id, p.limit.unwrap_or(100))
            .await
            .or_problem(u.lang)?,
    ))
}

/// A line of a new order: a product (by id) or an item described.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    pub product_id: Option<String>,
    /// Required without a product; default the product's name.
    pub description: Option<String>,
    /// 1 to 1,000,000 (default 1).
    pub quantity: Option<i64>,
    /// Yuan; or give `unit_price_fen`. Default: the product's current price.
    pub unit_price: Option<String>,
    pub unit_price_fen: Option<i64>,
    /// Off this line, at most quantity × unit price; yuan or `discount_fen`.
    pub discount: Option<String>,
    pub discount_fen: Option<i64>,
}

/// A new order. Its `amount_fen` is what the customer paid: the lines'
/// amounts (quantity × unit price − line discount) less the order's
/// discount; its `discount_fen` every discount given.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    pub customer_id: Option<String>,
    /// Its number in another system; unique.
    pub order_no: Option<String>,
    /// RFC 3339, or a local time in the business zone; default now; not in
    /// the future.
    pub ordered_at: Option<String>,
    /// Off the whole order, at most the sum of the lines; yuan or
    /// `discount_fen`.
    pub discount: Option<String>,
    pub discount_fen: Option<i64>,
    pub notes: Option<String>,
    /// At least one. Errors name a line's field as `lines[N].field`.
    #[serde(default)]
    pub lines: Vec<LineBody>,
}

/// Add an order with its lines to a customer you may write.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = OrderBody,
    responses((status = 201, body = Order), (status = 403, body = ProblemDoc), (status = 422, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn create_order(
    State(s): State<AppState>,
    u: ApiUser,
    ApiJson(b): ApiJson<OrderBody>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    let mut e = FieldErrors::new();
    let customer: Option<CustomerId> = match b.customer_id.as_deref().map(str::trim) {
        None | Some("") => {
            e.add("customer_id", Problem::Required);
            None
        }
        Some(c) => e.take("customer_id", c.parse().map_err(|_| Problem::NotFound)),
    };
    let mut fen_fields = vec![];
    if b.discount_fen.is_some() {
        fen_fields.push("discount".to_string());
    }
    let discount = money(&mut e, "discount", b.discount_fen, b.discount.as_deref());
    let mut lines = Vec::with_capacity(b.lines.len());
    for (i, l) in b.lines.into_iter().enumerate() {
        let f = |n: &str| format!("lines[{i}].{n}");
        if l.unit_price_fen.is_some() {
            fen_fields.push(f("unit_price"));
        }
        if l.discount_fen.is_some() {
            fen_fields.push(f("discount"));
        }
        lines.push(LineInput {
            product_id: l.product_id.unwrap_or_default(),
            description: l.description.unwrap_or_default(),
            quantity: l.quantity.map(|q| q.to_string()).unwrap_or_default(),
            unit_price: money(
                &mut e,
                &f("unit_price"),
                l.unit_price_fen,
                l.unit_price.as_deref(),
            )
            .unwrap_or_default(),
            discount: money(
                &mut e,
                &f("discount"),
                l.discount_fen,
                l.discount.as_deref(),
            )
            .unwrap_or_default(),
        });
    }
    e.into_result().or_problem(u.lang)?;
    let input = OrderInput {
        order_no: b.order_no.unwrap_or_default(),
        ordered_at: b.ordered_at.unwrap_or_default(),
        discount: discount.unwrap_or_default(),
        notes: b.notes.unwrap_or_default(),
        lines,
    };
    let customer = customer.expect("checked");
    let o = orders::create(
        &s.db,
        &u.principal,
        &customer,
        &input,
        Timestamp::now(),
        s.config.timezone,
    )
    .await
    .map_err(|e| match e {
        // The customer is a field of the body: say which.
        StoreError::NotFound | StoreError::Merged(_) => {
            StoreError::Invalid(FieldErrors::single("customer_id", Problem::NotFound))
        }
        StoreError::Invalid(fe) => StoreError::Invalid(rename_fen(fe, &fen_fields)),
        e => e,
    })
    .or_problem(u.lang)?;
    Ok((StatusCode::CREATED, Json(o)))
}

/// One order with its lines.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = ProblemDoc)), security(("bearer" = [])))]
pub async fn get_order(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    Ok(Json(
        orders::get(&s.db, &u.principal, &path_id(&id)?)
            .await
            .or_problem(u.lang)?,
    ))
}

/// Delete an order with its lines (admins, or whoever entered it while
/// they may write the customer); the audit log keeps what it was.
#[utoipa::path(delete, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ProblemDoc), (status = 404, body = ProblemDoc)),
    security(("bearer" = [])))]
pub async fn delete_order(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    orders::delete(&s.db, &u.principal, &path_id(&id)?)
        .await
        .or_problem(u.lang)?;
    Ok(StatusCode::NO_CONTENT)
}
