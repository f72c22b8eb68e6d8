-- Orders: what a customer bought, when, and for how much (integer fen;
-- negative for a refund). An order from another system keeps its number
-- there (external_id), so importing it again finds it.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    external_id TEXT,
    ordered_at BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 1,
    product TEXT,
    notes TEXT,
    user_id TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX orders_external_id ON orders(external_id) WHERE external_id IS NOT NULL;
-- Holds the amount too: the model fit reads every order from it alone.
CREATE INDEX orders_customer ON orders(customer_id, ordered_at, amount_fen);

-- The latest fit of each customer-value model, as the nightly job or
-- `kehu models fit` left it.
CREATE TABLE model_fits (
    model TEXT PRIMARY KEY,
    until_date TEXT NOT NULL,
    unit TEXT NOT NULL,
    params TEXT NOT NULL,
    log_likelihood DOUBLE PRECISION NOT NULL,
    customers BIGINT NOT NULL,
    iterations BIGINT NOT NULL,
    converged BOOLEAN NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    fitted_at BIGINT NOT NULL
);
