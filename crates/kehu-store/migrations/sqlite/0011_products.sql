-- Products (the catalogue), their price history, and the lines of orders.
-- Money is integer fen; times are UTC milliseconds.
CREATE TABLE products (
    id TEXT PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT,
    warranty_months INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Every price a product had or will have: the price in force at a time is
-- the one with the latest valid_from not after it.
CREATE TABLE product_prices (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products(id),
    price_fen INTEGER NOT NULL,
    valid_from INTEGER NOT NULL,
    user_id TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX product_prices_product ON product_prices(product_id, valid_from);

-- What an order counted: a product (or an item described) at a unit
-- price, less a discount; amount_fen = quantity × unit_price_fen −
-- discount_fen. warranty_until is the order time plus the product's
-- warranty months. position keeps the lines in the order they were given.
CREATE TABLE order_lines (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position INTEGER NOT NULL DEFAULT 0,
    product_id TEXT REFERENCES products(id),
    description TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_fen INTEGER NOT NULL,
    discount_fen INTEGER NOT NULL DEFAULT 0,
    amount_fen INTEGER NOT NULL,
    warranty_until INTEGER
);
CREATE INDEX order_lines_order ON order_lines(order_id);
CREATE INDEX order_lines_product ON order_lines(product_id);

-- Every discount given on an order (its lines' and its own): amount_fen
-- stays what the customer paid, so amount_fen + discount_fen is the
-- order's value at list prices.
ALTER TABLE orders ADD COLUMN discount_fen INTEGER NOT NULL DEFAULT 0;
