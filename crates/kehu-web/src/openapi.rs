//! The OpenAPI 3 document of the REST API, generated from the handlers'
//! annotations so that it cannot drift from what the server does.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{admin, analytics, customers, duplicates, imports, orders, tickets};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "kehu REST API", description = "Customer archive and service desk of kehu (客户). Authenticate with `Authorization: Bearer <token>` (create one with `kehu token create LOGIN`). Errors are RFC 9457 problem documents; lists page with `cursor`/`next_cursor`."),
    paths(
        customers::list, customers::export, customers::create, customers::get, customers::update, customers::delete,
        customers::restore, customers::reveal_phone, customers::timeline,
        customers::list_contacts, customers::create_contact, customers::get_contact, customers::update_contact, customers::delete_contact,
        customers::list_interactions, customers::create_interaction, customers::get_interaction,
        orders::list_products, orders::create_product, orders::get_product, orders::update_product, orders::set_price,
        orders::customer_orders, orders::create_order, orders::get_order, orders::delete_order,
        duplicates::list, duplicates::dismiss, duplicates::merge,
        analytics::models, analytics::fit, analytics::get_settings, analytics::put_settings,
        analytics::recompute, analytics::dashboard, analytics::customer_scores, analytics::override_grade,
        admin::me, admin::list_users, admin::get_user, admin::create_user, admin::update_user, admin::list_teams,
        admin::list_tags, admin::create_tag, admin::delete_tag,
        admin::list_fields, admin::create_field, admin::update_field,
        admin::list_tokens, admin::create_token, admin::revoke_token, admin::audit,
        imports::create, imports::list, imports::get, imports::rejects,
        tickets::create, tickets::get, tickets::update, tickets::list, tickets::events, tickets::entry, tickets::status,
        tickets::promise, tickets::assign, tickets::solutions, tickets::offer, tickets::choose,
        tickets::compensations, tickets::compensate, tickets::resolve, tickets::survey,
        tickets::categories, tickets::save_category,
        tickets::list_scripts, tickets::create_script, tickets::update_script, tickets::delete_script,
        tickets::get_sla, tickets::patch_sla, tickets::list_notifications, tickets::read_notifications,
        tickets::list_tasks, tickets::task_done, tickets::outbox, tickets::outbox_sent,
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
