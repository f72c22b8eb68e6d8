-- Orders: what a customer bought, when, and for how much (integer fen;
-- negative for a refund). An order from another system keeps its number
-- there (external_id), so importing it again finds it.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    external_id TEXT,
    ordered_at INTEGER NOT NULL,
    amount_fen INTEGER NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1,
    product TEXT,
    notes TEXT,
    user_id TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL
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
    log_likelihood REAL NOT NULL,
    customers INTEGER NOT NULL,
    iterations INTEGER NOT NULL,
    converged BOOLEAN NOT NULL,
    seconds REAL NOT NULL,
    fitted_at INTEGER NOT NULL
);
